"""The Arrow compute functions the batch path calls, without importing pyarrow.compute.

Importing pyarrow.compute wraps each of its ~290 functions with a generated signature and
docstring (~25 ms, more than scoring a small file). These call the same kernels through
`call_function` (the function pyarrow.compute re-exports from pyarrow._compute) with the
options that pyarrow.compute's own wrappers pass, so results are identical
(tests/engine/test_arrow_arrays.py). Arguments are Arrow arrays and scalars (built by
arrow_arrays), never plain Python values, which pyarrow would convert through pandas.
"""

from __future__ import annotations

import pyarrow as pa

try:
    from pyarrow._compute import (
        CastOptions,
        DictionaryEncodeOptions,
        SetLookupOptions,
        TakeOptions,
        TrimOptions,
        call_function,
    )
except ImportError:  # a pyarrow that moved its private module: the public one, slower to load
    from pyarrow.compute import (
        CastOptions,
        DictionaryEncodeOptions,
        SetLookupOptions,
        TakeOptions,
        TrimOptions,
        call_function,
    )


def cast(arr, target_type: pa.DataType):
    """pc.cast(arr, target_type): a safe cast."""
    return call_function("cast", [arr], CastOptions.safe(target_type))


def binary_length(arr):
    return call_function("binary_length", [arr])


def if_else(cond, left, right):
    return call_function("if_else", [cond, left, right])


def fill_null(values, fill):
    """pc.fill_null with an Arrow scalar or array of the values' type."""
    if fill.type != values.type:
        raise TypeError(f"fill_null: a {fill.type} fill for {values.type} values")
    return call_function("coalesce", [values, fill])


def take(data, indices):
    """data.take(indices), bounds checked."""
    return call_function("take", [data, indices], TakeOptions(boundscheck=True))


def utf8_rtrim(arr, characters: str):
    return call_function("utf8_rtrim", [arr], TrimOptions(characters))


def utf8_trim_whitespace(arr):
    return call_function("utf8_trim_whitespace", [arr])


def binary_join_element_wise(*strings):
    """The strings joined per row by the last argument (a null anywhere gives null)."""
    return call_function("binary_join_element_wise", list(strings))


def is_in(arr, value_set: pa.Array):
    return call_function("is_in", [arr], SetLookupOptions(value_set))


def index_in(arr, value_set: pa.Array):
    return call_function("index_in", [arr], SetLookupOptions(value_set))


def dictionary_encode(arr):
    return call_function("dictionary_encode", [arr], DictionaryEncodeOptions("mask"))
