"""Batch predictions of CSV files: one output row per input row, in order, input text written
back unchanged, predictions equal to scikit-learn's, bad rows kept and explained, bad files
refused with nothing written, Cancel leaves nothing behind."""

from __future__ import annotations

import csv
import io
import json
from functools import cache

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from engine.batch.score import provenance_path, score_csv
from engine.errors import Cancelled, InputError
from engine.progress import CancelToken
from tests.engine.conftest import roundtrip
from tests.engine.test_parity_pipelines import mixed_frame
from tests.engine.workspace_kit import DEMO_LABEL


@cache
def fitted_and_model():
    df, y = mixed_frame(800, seed=21)
    pipe = make_pipeline(
        ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["a", "b"]),
            ("c", "passthrough", ["c"]),  # no imputer: a missing c rejects the row
            ("cat", OneHotEncoder(handle_unknown="error"), ["size"]),
            ("col", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                  OneHotEncoder(handle_unknown="ignore")), ["color"])]),
        HistGradientBoostingClassifier(max_iter=20, random_state=0))
    # Whether a missing c is accepted is the exporter's finding; the tests read it from doc.
    fitted = pipe.fit(df, y)
    model, doc = roundtrip(fitted, df, y)
    return fitted, model, doc


def write(path, text: str, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def sample_csv(tmp_path, n=300, seed=22, extra=True, reorder=True):
    df, _ = mixed_frame(n, seed=seed)
    if extra:
        df.insert(0, "id", [f"r{i}" for i in range(n)])
        df["comment"] = ["plain", 'with "quotes", and a comma', "two\nlines"] * (n // 3) + [
            "x"] * (n % 3)
    if reorder:
        df = df[list(reversed(df.columns))]
    path = tmp_path / "input.csv"
    df.to_csv(path, index=False)
    return path, df


def read_output(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_scores_every_row_in_order_with_input_text_unchanged(tmp_path):
    fitted, model, _ = fitted_and_model()
    src, df = sample_csv(tmp_path)
    out = tmp_path / "out.csv"
    calls = []
    result = score_csv(src, out, model, "m@1", progress=lambda f, m: calls.append(f),
                       chunk_bytes=4096)
    assert (result.rows, result.ok, result.rejected) == (len(df), len(df), 0)
    assert len(calls) > 5 and calls[-1] == 1.0  # progress per chunk
    original = list(csv.reader(io.StringIO(src.read_text())))
    written = list(csv.reader(io.StringIO(out.read_text())))
    assert len(written) == len(original)
    for before, after in zip(original, written, strict=True):
        assert after[: len(before)] == before  # every input field, the same text
    got = read_output(out)
    ours = model.predict(df)
    # The file holds exactly our predictor's numbers (shortest round-trip form) ...
    np.testing.assert_array_equal(got["proba_1"].astype(float), ours.proba[:, 1])
    # ... which equal scikit-learn's to 1e-12, with the same labels.
    np.testing.assert_allclose(got["proba_1"].astype(float), fitted.predict_proba(df)[:, 1],
                               rtol=0, atol=1e-12)
    np.testing.assert_array_equal(got["prediction"].astype(int), fitted.predict(df))
    assert set(got["status"]) == {"ok"}
    prov = json.loads(provenance_path(out).read_text())
    assert prov["rows"] == len(df) and prov["model"] == "m@1" and len(prov["input_sha256"]) == 64


def test_bad_rows_are_kept_with_reasons(tmp_path):
    _fitted, model, doc = fitted_and_model()
    src, _df = sample_csv(tmp_path, n=30, extra=False, reorder=False)
    lines = src.read_text().splitlines()
    header = lines[0].split(",")
    c, size = header.index("c"), header.index("size")

    def edit(i, col, value):
        cells = next(csv.reader([lines[i]]))
        cells[col] = value
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow(cells)
        lines[i] = buf.getvalue()

    edit(2, c, "abc")
    edit(4, size, "XXL")
    edit(6, c, "")
    lines.insert(8, "")
    lines.insert(10, "1,2")
    write(src, "\n".join(lines) + "\n")
    out = tmp_path / "out.csv"
    result = score_csv(src, out, model, "m@1")
    got = read_output(out)
    assert len(got) == 32 and result.rows == 32
    reasons = dict(zip(got.index[got["status"] == "rejected"],
                       got["error"][got["status"] == "rejected"], strict=True))
    assert "'c'" in reasons[1] and "'abc' is not a number" in reasons[1]
    assert "'size'" in reasons[3] and "'XXL'" in reasons[3]
    c_missing = next(f for f in doc["inputs"] if f["name"] == "c")["missing"]
    assert (5 in reasons) == (not c_missing)
    assert reasons[7] == "the row is empty"
    assert "2 fields" in reasons[9]
    assert result.rejected == len(reasons)
    ok = got["status"] == "ok"
    assert ok.sum() == 32 - len(reasons)


def test_bom_semicolons_and_no_final_newline(tmp_path):
    fitted, model, _ = fitted_and_model()
    src, df = sample_csv(tmp_path, n=20, extra=False, reorder=False)
    text = src.read_text().replace(",", ";").rstrip("\n")
    write(src, "\ufeff" + text)
    out = tmp_path / "out.csv"
    result = score_csv(src, out, model, "m@1")
    assert result.rows == 20 and result.rejected == 0
    first = out.read_text().splitlines()[0]
    assert first.startswith("a;b;c;color;size;prediction;proba_0")  # BOM gone, ';' kept
    got = pd.read_csv(out, sep=";")
    np.testing.assert_allclose(got["proba_1"], fitted.predict_proba(df)[:, 1], rtol=0,
                               atol=1e-12)


@pytest.mark.parametrize(("content", "code", "words"), [
    (None, "E_NO_FILE", "does not exist"),
    ("", "E_EMPTY_FILE", "empty"),
    ("a,b,c,color,size\n", "E_NO_ROWS", "no data rows"),
    ("a,b,c,color,color,size\n1,2,3,red,red,S\n", "E_DUPLICATE_COLUMN", "'color'"),
    ("a,b,color,size\n1,2,red,S\n", "E_MISSING_COLUMN", "'c'"),
    (b"\x00\x01\x02PK\x03\x04binary", "E_BINARY_FILE", "not a text file"),
    ("a,b,c,color,size\n1,2,3,r\xe9d,S\n".encode("latin-1"), "E_ENCODING", "UTF-8"),
])
def test_file_level_problems_refuse_and_write_nothing(tmp_path, content, code, words):
    _, model, _ = fitted_and_model()
    src = tmp_path / "input.csv"
    if isinstance(content, str):
        write(src, content)
    elif isinstance(content, bytes):
        src.write_bytes(content)
    out = tmp_path / "out.csv"
    with pytest.raises(InputError) as info:
        score_csv(src, out, model, "m@1")
    assert info.value.code == code and words in info.value.message
    assert str(src) in info.value.message
    assert sorted(p.name for p in tmp_path.iterdir()) == (["input.csv"] if content is not None
                                                           else [])


def test_output_paths_are_checked(tmp_path):
    _, model, _ = fitted_and_model()
    src, _ = sample_csv(tmp_path, n=10)
    with pytest.raises(InputError, match="does not exist") as info:
        score_csv(src, tmp_path / "nope" / "out.csv", model, "m@1")
    assert info.value.code == "E_OUTPUT_FOLDER"
    with pytest.raises(InputError) as info:
        score_csv(src, src, model, "m@1")
    assert info.value.code == "E_OUTPUT_IS_INPUT"
    with pytest.raises(InputError) as info:
        score_csv(tmp_path, tmp_path / "o.csv", model, "m@1")
    assert info.value.code == "E_NOT_A_FILE"


def test_cancel_leaves_no_output(tmp_path):
    _, model, _ = fitted_and_model()
    src, _ = sample_csv(tmp_path, n=3000)
    out = tmp_path / "out.csv"
    token = CancelToken()

    def progress(fraction, message):
        if fraction > 0.2:
            token.cancel()

    with pytest.raises(Cancelled):
        score_csv(src, out, model, "m@1", progress=progress, cancel=token, chunk_bytes=4096)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.csv"]


def test_cli_predict_records_the_batch_and_exit_codes(tmp_path, capsys, monkeypatch):
    from engine.cli import main
    from engine.ground.paths import Workspace
    from engine.ground.shipped import shipped_dir
    from engine.registry.first_start import first_start
    from engine.registry.registry import Registry

    monkeypatch.delenv("RATCHET_TRUST_STORE", raising=False)
    ws = Workspace.open(tmp_path / "ws")
    first_start(ws)
    sample = shipped_dir("resources") / "samples" / "flights-2013-07-sample.csv"
    out = tmp_path / "pred.csv"
    code = main(["--workspace", str(ws.root), "--json", "predict", str(sample), "-o", str(out)])
    result = json.loads(capsys.readouterr().out)
    assert result["model"] == DEMO_LABEL and result["rows"] == 2000
    assert code == (1 if result["rejected"] else 0)
    reg = Registry(ws)
    rows = reg.db.execute("SELECT model, rows, output FROM batches").fetchall()
    reg.close()
    assert [tuple(r) for r in rows] == [(DEMO_LABEL, 2000, str(out))]
    bad = tmp_path / "bad.csv"
    bad.write_text("month,day\n1,2\n")
    assert main(["--workspace", str(ws.root), "predict", str(bad), "-o",
                 str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "'dep_time'" in err and "Traceback" not in err


def test_stray_quotes_never_shift_predictions_between_rows(tmp_path):
    """Records and fields come from the same rules (the csv module's), so each output row's
    prediction is the one for its own input values, whatever the quoting."""
    _, model, _ = fitted_and_model()
    df, _ = mixed_frame(6, seed=31, nan_share=0)
    notes = ['""', 'a"""', '"""', '""', '"\n "', 'x"y']
    lines = ["a,b,c,color,size,note"]
    for i in range(6):
        r = df.iloc[i]
        lines.append(f"{r.a!r},{r.b!r},{r.c!r},{r.color},{r.size},{notes[i]}")
    src = write(tmp_path / "input.csv", "\n".join(lines) + "\n")
    out = tmp_path / "out.csv"
    score_csv(src, out, model, "m@1", chunk_bytes=16)
    parsed_in = list(csv.reader(io.StringIO(src.read_text())))[1:]
    parsed_out = list(csv.reader(io.StringIO(out.read_text())))[1:]
    assert len(parsed_out) == len(parsed_in)
    for before, after in zip(parsed_in, parsed_out, strict=True):
        assert after[: len(before)] == before
        if after[-2] != "ok":
            continue
        row = pd.DataFrame([before[:5]], columns=["a", "b", "c", "color", "size"])
        row[["a", "b", "c"]] = row[["a", "b", "c"]].astype(float)
        assert float(after[-3]) == model.predict(row).proba[0, 1]


@pytest.mark.parametrize(("content", "words"), [
    (b"a,b,c,color,size\r1,2,3,red,S\r4,5,6,red,M\r", "lone carriage return"),
    (b"a,b,c,color,size\n1,2,3,red,S\n1,2,3\r4,red,M\n", "lone carriage return"),
    (b'a,b,c,color,size\n1,2,3,"red,S\n4,5,6,red,M\n', "never closed"),
])
def test_malformed_line_ends_and_quotes_are_refused(tmp_path, content, words):
    _, model, _ = fitted_and_model()
    src = tmp_path / "input.csv"
    src.write_bytes(content)
    with pytest.raises(InputError) as info:
        score_csv(src, tmp_path / "out.csv", model, "m@1")
    assert info.value.code == "E_NOT_CSV" and words in info.value.message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.csv"]


def test_utf16_is_named(tmp_path):
    _, model, _ = fitted_and_model()
    src = tmp_path / "input.csv"
    src.write_bytes("a,b,c,color,size\n1,2,3,red,S\n".encode("utf-16"))
    with pytest.raises(InputError) as info:
        score_csv(src, tmp_path / "out.csv", model, "m@1")
    assert info.value.code == "E_ENCODING" and "UTF-16" in info.value.message


def test_blank_lines_after_the_last_row_are_not_rows(tmp_path):
    _, model, _ = fitted_and_model()
    src, _df = sample_csv(tmp_path, n=12, extra=False, reorder=False)
    write(src, src.read_text() + "\n\n\r\n")
    result = score_csv(src, tmp_path / "out.csv", model, "m@1")
    assert (result.rows, result.rejected) == (12, 0)
    import hashlib

    assert result.input_sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
