"""The regression cases' CSV reader (engine/formats/text_table.py) reads what pandas'
read_csv(dtype=str, keep_default_na=False) reads, and names the row where pandas would guess."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from engine.bundle.ziparchive import read_members
from engine.formats.text_table import TextTable, TextTableError
from tests.engine.workspace_kit import DEMO_BUNDLE

TRICKY = (
    "\ufeffa,b,note\n"
    '1,,"a, comma"\n'
    "\n"
    '2,NA,"two\nlines"\n'
    '3," spaced ","a ""quote"""\n'
    "4,x,\n"
).encode("utf-8")


def as_pandas(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)


@pytest.mark.parametrize("data", [TRICKY, b"a,b\n", b"a,b\r\n1,2\r\n3,4\r\n"])
def test_reads_what_pandas_reads(data):
    table, frame = TextTable.read(data), as_pandas(data)
    assert table.columns == tuple(frame.columns)
    assert len(table) == len(frame)
    for name in frame.columns:
        assert table[name].tolist() == frame[name].tolist()


def test_the_demo_cases_read_as_pandas_reads_them():
    path = DEMO_BUNDLE
    data = read_members(path.read_bytes())["regression_cases.csv"]
    table, frame = TextTable.read(data), as_pandas(data)
    assert len(table) == len(frame) > 3000
    assert {n: table[n].tolist() for n in table.columns} == \
        {n: frame[n].tolist() for n in frame.columns}


def test_a_filtered_table_keeps_its_file_rows():
    table = TextTable.read(TRICKY)
    kept = table[table["b"] != ""]
    assert kept.rows.tolist() == [1, 2, 3]
    assert kept.record(0) == {"a": "2", "b": "NA", "note": "two\nlines"}
    assert np.asarray(kept["a"]).tolist() == ["2", "3", "4"]


@pytest.mark.parametrize("data, says", [
    (b"a,b\n1,2\n3\n", "row 2 has 1 fields, the header 2"),
    (b"a,b\n1,2,3\n", "row 1 has 3 fields, the header 2"),
    (b"a,a\n1,2\n", "the column 'a' appears twice"),
    (b"a,b\n\xff,2\n", "not UTF-8"),
    (b"", "empty"),
])
def test_bad_tables_say_where(data, says):
    with pytest.raises(TextTableError, match=says):
        TextTable.read(data)


def test_records_write_back_as_the_same_table():
    records = [{"a": "1", "b": 'say "hi", twice'}, {"a": "2", "c": "line\nbreak"}]
    written = TextTable.from_records(records).to_csv()
    frame = as_pandas(written)
    assert list(frame.columns) == ["a", "b", "c"]
    assert frame.to_dict("records") == [{"a": "1", "b": 'say "hi", twice', "c": ""},
                                        {"a": "2", "b": "", "c": "line\nbreak"}]
