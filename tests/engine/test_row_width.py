"""Every output row has the header's width: a row with more fields than the header keeps its
first fields as written and its surplus fields are named in its error text; a short row is
padded. Checked by reading the output back with pandas (which refuses a ragged file) and the
csv module, in one chunk and in many, on the fast (no quotes) and careful (quoted) paths."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from engine.batch.score import score_csv
from tests.engine.test_batch_predict import fitted_and_model, sample_csv


def _ragged(tmp_path, quoted: bool):
    src, _df = sample_csv(tmp_path, n=60, extra=False, reorder=False)
    lines = src.read_text().splitlines()
    header = next(csv.reader([lines[0]]))
    if quoted:  # a quote anywhere in the chunk sends it down the careful path
        lines[1] = ",".join(f'"{c}"' for c in next(csv.reader([lines[1]])))
    lines[5] = lines[5] + ",surplus one,surplus two"
    lines[20] = lines[20] + (',"quoted, surplus"' if quoted else ",7")
    lines[40] = lines[40] + "," * 9  # nine empty surplus fields
    lines[50] = lines[50].split(",", 1)[0]  # a short row: padded
    src.write_text("\n".join(lines) + "\n")
    return src, header, lines


@pytest.mark.parametrize("quoted", [False, True])
@pytest.mark.parametrize("chunk_bytes", [1 << 20, 300])
def test_long_rows_keep_the_header_width(tmp_path, quoted, chunk_bytes):
    _fitted, model, _doc = fitted_and_model()
    src, header, lines = _ragged(tmp_path, quoted)
    out = tmp_path / "out.csv"
    result = score_csv(src, out, model, "m@1", chunk_bytes=chunk_bytes)
    assert result.rows == 60 and result.rejected == 4
    written = list(csv.reader(io.StringIO(out.read_text(), newline="")))
    width = len(written[0])
    assert width == len(header) + 2 + len(model.classes) + 1
    assert all(len(row) == width for row in written)
    got = pd.read_csv(out, dtype=str, keep_default_na=False)  # refuses a ragged file
    assert got.shape == (60, width)
    for i in (5, 20, 40):  # the first fields as written, then the appended columns
        assert written[i][:len(header)] == next(csv.reader([lines[i]]))[:len(header)]
        assert written[i][-2] == "rejected"
    error = got["error"]
    assert error[4].startswith(f"the row has {len(header) + 2} fields, the header has "
                               f"{len(header)}")
    assert "'surplus one', 'surplus two'" in error[4]
    assert ("'quoted, surplus'" if quoted else "'7'") in error[19]
    assert "'', '', '', '', '' and 4 more" in error[39]
    assert error[49] == f"the row has 1 fields, the header has {len(header)}"
    assert written[50][1:len(header)] == [""] * (len(header) - 1)
    assert (got["status"] == "ok").sum() == 56


def test_long_row_is_cut_byte_for_byte(tmp_path):
    """The kept fields are the record's own bytes (quotes and spacing as written)."""
    _fitted, model, _doc = fitted_and_model()
    src, header, lines = _ragged(tmp_path, quoted=True)
    out = tmp_path / "out.csv"
    score_csv(src, out, model, "m@1")
    raw = out.read_text().splitlines()
    n = len(header)
    cut = lines[20][:len(lines[20]) - len(',"quoted, surplus"')]
    assert raw[20].startswith(cut + ",,")  # then the empty prediction: no surplus field
    assert raw[1].startswith(lines[1] + ",")  # a fitting quoted row: untouched
    assert n == len(next(csv.reader([cut])))
