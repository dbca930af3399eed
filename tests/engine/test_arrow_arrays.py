"""engine/model/arrow_arrays.py builds the same Arrow arrays as pa.array and reads them back as
to_numpy(zero_copy_only=False) does, without importing pandas (which pyarrow does on those
calls); engine/model/arrow_compute.py calls the same compute kernels as pyarrow.compute without
importing it: checked against pyarrow's own results, and in fresh processes for the imports."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.model import arrow_arrays as aa
from engine.model import arrow_compute as ac
from engine.model.categories import DISTINCT_MIN_ROWS, _distinct_text
from engine.model.rows import missing_mask


@given(st.lists(st.text(st.characters(exclude_categories=["Cs"]), max_size=5), max_size=30))
def test_string_arrays_of_any_text_equal_pa_array(texts):
    assert aa.strings(texts).equals(pa.array(texts, type=pa.string()))
    assert aa.strings(np.array(texts, dtype=object)).equals(pa.array(texts, type=pa.string()))


def test_built_arrays_equal_pa_array():
    texts = ["", "a", "é,\"x\"", "ok", "a😀b", "\x00"]
    assert aa.strings(texts).equals(pa.array(texts, type=pa.string()))
    assert aa.strings(np.array(texts, dtype=object)).equals(pa.array(texts, type=pa.string()))
    assert aa.strings([]).equals(pa.array([], type=pa.string()))
    assert aa.string("x").equals(pa.scalar("x", pa.string()))
    assert aa.NULL_STRING.equals(pa.scalar(None, pa.string()))
    mask = np.array([True, False, False, True, True, False, False, False, True])
    assert aa.booleans(mask).equals(pa.array(mask))
    for dtype in (np.int8, np.int32, np.int64, np.float32, np.float64):
        values = np.arange(9, dtype=dtype)[::-1]
        assert aa.numbers(values).equals(pa.array(values))
        assert aa.numbers(values, mask).equals(pa.array(values, mask=mask))
    floats = np.array([0.1, np.nan, -2.5e300, 1 / 3])
    none = np.zeros(4, dtype=bool)
    cast = pc.cast(aa.numbers(floats, none), pa.string())
    assert cast.equals(pc.cast(pa.array(floats, mask=none), pa.string()))


def test_read_back_equals_to_numpy():
    text = pa.array(["1", "x", None, "2.5", "", None, "NA"] * 3, type=pa.string())[2:]
    floats = pa.array([1.0, None, 2.5, None, -0.0] * 3)[1:]  # nulls, and an offset
    got, want = aa.to_floats(floats), floats.to_numpy(zero_copy_only=False)
    assert np.array_equal(got, want, equal_nan=True) and got.dtype == want.dtype
    lengths = pc.binary_length(text)
    assert np.array_equal(aa.to_ints(lengths, np.int32, fill=-1),
                          lengths.fill_null(-1).to_numpy(zero_copy_only=False))
    objects = aa.to_objects(text)
    assert objects.dtype == object and list(objects) == list(
        text.to_numpy(zero_copy_only=False))
    assert list(aa.to_objects(pa.array([], type=pa.string()))) == []
    assert list(aa.to_objects(pa.array([None, None], type=pa.string()))) == [None, None]
    distinct = pa.array([f"t{i}" if i % 9 else None for i in range(3 * aa.DISTINCT_TEXTS)])
    assert list(aa.to_objects(distinct)) == list(distinct.to_numpy(zero_copy_only=False))


def test_distinct_text_of_text_columns_only():
    n = DISTINCT_MIN_ROWS
    values = np.array([["b", "a", None, "b"][i % 4] for i in range(n)], dtype=object)
    words, index = _distinct_text(values, missing_mask(values))
    present = values != None  # noqa: E711
    assert list(words[index[present]]) == list(values[present])
    mixed = values.copy()
    mixed[5] = 3.0
    assert _distinct_text(mixed, missing_mask(mixed)) is None
    as_bytes = values.copy()
    as_bytes[5] = b"a"
    assert _distinct_text(as_bytes, missing_mask(as_bytes)) is None
    empty = np.full(n, None, dtype=object)
    assert _distinct_text(empty, missing_mask(empty)) is None


def test_building_and_reading_arrays_loads_no_pandas():
    code = ("import sys, numpy as np, pyarrow as pa, pyarrow.compute as pc\n"
            "from engine.model import arrow_arrays as aa\n"
            "s = aa.strings(['1', '', 'x'])\n"
            "aa.to_floats(pc.cast(pc.if_else(aa.booleans(np.array([0, 1, 1], bool)),"
            " aa.NULL_STRING, s), pa.float64()))\n"
            "aa.to_objects(s); aa.to_ints(pc.binary_length(s), np.int32)\n"
            "aa.to_floats(pc.cast(aa.numbers(np.ones(3), np.array([0, 1, 0], bool)),"
            " pa.float64()))\n"
            "pc.fill_null(pc.cast(aa.numbers(np.ones(3)), pa.string()), aa.string(''))\n"
            "print('pandas' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False"


def test_compute_calls_equal_pyarrow_compute():
    text = pa.array([" 1 ", "x", None, "NA", "", "é"] * 2, type=pa.string())[1:]
    markers = aa.strings(["", "NA"])
    assert ac.cast(pa.array(["1", "2.5", None]), pa.float64()).equals(
        pc.cast(pa.array(["1", "2.5", None]), pa.float64()))
    with pytest.raises(pa.ArrowInvalid):  # a safe cast, as pc.cast's default
        ac.cast(text, pa.float64())
    assert ac.binary_length(text).equals(pc.binary_length(text))
    assert ac.utf8_trim_whitespace(text).equals(pc.utf8_trim_whitespace(text))
    assert ac.utf8_rtrim(text, " \r\n").equals(pc.utf8_rtrim(text, characters=" \r\n"))
    assert ac.is_in(text, markers).equals(pc.is_in(text, value_set=markers))
    assert ac.index_in(text, markers).equals(pc.index_in(text, value_set=markers))
    hit = pc.is_in(text, value_set=markers)
    assert ac.if_else(hit, aa.NULL_STRING, text).equals(
        pc.if_else(hit, pa.scalar(None, pa.string()), text))
    assert ac.fill_null(text, aa.string("-")).equals(pc.fill_null(text, "-"))
    with pytest.raises(TypeError):
        ac.fill_null(text, aa.integer(0))
    index = aa.numbers(np.array([2, 0, 0, 1], dtype=np.int8))
    assert ac.take(text, index).equals(text.take(index))
    with pytest.raises(IndexError):
        ac.take(text, aa.numbers(np.array([99])))
    assert ac.binary_join_element_wise(text, text, aa.string(",")).equals(
        pc.binary_join_element_wise(text, text, ","))
    assert ac.dictionary_encode(text).equals(pc.dictionary_encode(text))


def test_the_batch_path_loads_no_pyarrow_compute():
    code = ("import sys, numpy as np, pyarrow as pa\n"
            "import engine.batch.chunk_io, engine.batch.score, engine.model.markers\n"
            "from engine.model import arrow_arrays as aa, arrow_compute as ac\n"
            "s = aa.strings(['1', 'NA'])\n"
            "ac.take(ac.dictionary_encode(ac.if_else(ac.is_in(s, s), aa.NULL_STRING, s)),"
            " aa.numbers(np.array([0, 1])))\n"
            "print('pyarrow.compute' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False"
