"""The coefficient reader checks a well-formed list in one pass (a 100-tree model's node values
are thousands of one-number rows; issue 16's predict start-up) and falls back to item by item
to name the first problem: the same arrays and the same errors either way."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import CoefficientsInvalid
from engine.model.reader import Reader

ITEMS = st.one_of(st.integers(-2**63, 2**63), st.floats(allow_nan=True), st.booleans(),
                  st.none(), st.sampled_from(["0.5", "+inf", "-inf", "x"]))


def outcome(call):
    try:
        out = call()
    except CoefficientsInvalid as exc:
        return "error", exc.message
    return "ok", out.dtype.str, out.shape, out.tolist()


def slow_matrix(r: Reader, rows, cols):
    """Reader.matrix as it was before the one-pass path: row by row."""
    row_arrays = [item.floats(cols) for item in r.items(rows)]
    if not row_arrays:
        return np.zeros((0, cols or 0))
    width = len(row_arrays[0])
    for i, row in enumerate(row_arrays):
        if len(row) != width:
            raise Reader(r.value[i], f"{r.path}[{i}]", r.source).fail(
                f"expected {width} numbers like the first row, found {len(row)}")
    return np.vstack(row_arrays)


def test_a_well_formed_matrix_is_read_in_one_pass():
    r = Reader([[1, 2.5], [0, -3e300]], "$.value")
    assert r._plain_matrix(2, 2).tolist() == [[1.0, 2.5], [0.0, -3e300]]
    for bad in ([[1], [True]], [[1], [1, 2]], [[1], "x"], [[float("inf")]], [[10**400]]):
        assert Reader(bad, "$.value")._plain_matrix(None, None) is None


@given(st.lists(st.lists(ITEMS, max_size=3), max_size=4), st.sampled_from([None, 1, 2]),
       st.sampled_from([None, 2, 3]))
def test_matrix_reads_as_row_by_row(rows, cols, count):
    assert outcome(lambda: Reader(rows, "$.v").matrix(count, cols)) == outcome(
        lambda: slow_matrix(Reader(rows, "$.v"), count, cols))


@given(st.lists(ITEMS, max_size=6), st.sampled_from([None, -1, 0]))
def test_lists_of_numbers_ints_and_bools_keep_their_checks(values, minimum):
    r = Reader(values, "$.v")
    plain = [v for v in values if v is not None]
    for result in (outcome(lambda: r.floats()), outcome(lambda: r.ints(minimum=minimum)),
                   outcome(lambda: r.bools())):
        if result[0] == "error":
            assert result[1].startswith("$.v[") or "$.v" in result[1]
    if plain and all(type(v) is int and abs(v) < 2**62 for v in values):
        got = r.ints(minimum=None)
        assert got.dtype == np.int64 and got.tolist() == values
    if values and all(type(v) is bool for v in values):
        assert r.bools().tolist() == [int(v) for v in values]


@pytest.mark.parametrize(("values", "where", "what"), [
    ([1, 2**62], "$.v[1]", "sensible size"), ([1, -(2**62)], "$.v[1]", "sensible size"),
    ([0, True], "$.v[1]", "an integer"), ([3, -2], "$.v[1]", ">= -1"),
    ([2**64], "$.v[0]", "sensible size")])
def test_ints_name_the_first_bad_item(values, where, what):
    with pytest.raises(CoefficientsInvalid) as info:
        Reader(values, "$.v").ints(minimum=-1)
    assert where in info.value.message and what in info.value.message
