"""Arrow arrays to and from numpy without pandas.

pyarrow imports pandas (about 0.2 s, more than scoring a small file) the first time `pa.array`,
`pa.scalar` or `Array.to_numpy(zero_copy_only=False)` runs, and when a compute function is
given a plain Python value (it becomes a `pa.scalar`). The predict path builds its arrays here
instead, from their buffers: the same arrays, the same values, and no pandas
(tests/engine/test_import_budget.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from engine.model import arrow_compute as pc

NULL_STRING = pa.nulls(1, pa.string())[0]


def _bits(valid: np.ndarray) -> pa.Buffer:
    """An Arrow validity (or boolean) bitmap of a boolean array."""
    return pa.py_buffer(np.packbits(valid, bitorder="little"))


def _valid(arr: pa.Array) -> np.ndarray | None:
    """Per element: not null; None when nothing is null."""
    if arr.null_count == 0:
        return None
    bits = np.unpackbits(np.frombuffer(arr.buffers()[0], dtype=np.uint8), bitorder="little")
    return bits[arr.offset:arr.offset + len(arr)].astype(bool)


def _values(arr: pa.Array, dtype) -> np.ndarray:
    if len(arr) == 0:
        return np.empty(0, dtype=dtype)
    return np.frombuffer(arr.buffers()[1], dtype=dtype)[arr.offset:arr.offset + len(arr)]


def strings(values: Sequence[str]) -> pa.StringArray:
    """A string array of Python strings (none of them None; TypeError for a value that is not
    a str)."""
    n = len(values)
    joined = "".join(values)
    data = joined.encode("utf-8")
    offsets = np.zeros(n + 1, dtype=np.int64)  # in characters, then in bytes
    np.cumsum(np.fromiter(map(len, values), dtype=np.int64, count=n), out=offsets[1:])
    if len(data) != len(joined):  # not ASCII: where each character starts in the UTF-8 bytes
        first = (np.frombuffer(data, dtype=np.uint8) & 0xC0) != 0x80
        offsets = np.append(np.flatnonzero(first), len(data))[offsets]
    if offsets[-1] >= 2 ** 31:
        raise OverflowError("more than 2 GiB of text in one array")
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.astype(np.int32)),
                                       pa.py_buffer(data))


def string(text: str) -> pa.StringScalar:
    return strings([text])[0]


def integer(value: int, dtype=np.int32) -> pa.Scalar:
    return numbers(np.array([value], dtype=dtype))[0]


def booleans(mask: np.ndarray) -> pa.BooleanArray:
    mask = np.asarray(mask, dtype=bool)
    return pa.Array.from_buffers(pa.bool_(), len(mask), [None, _bits(mask)])


def numbers(values: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """The Arrow array of a numpy array of integers or floats, of the same type (as `pa.array`);
    `missing` (bool): its null elements."""
    values = np.ascontiguousarray(values)
    if values.dtype.kind not in "iuf":
        raise TypeError(f"not an array of numbers: {values.dtype}")
    validity = None if missing is None or not missing.any() else _bits(~missing)
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values),
                                 [validity, pa.py_buffer(values)])


def to_floats(arr: pa.Array) -> np.ndarray:
    """A float64 array as numpy, NaN where null (as `to_numpy(zero_copy_only=False)`)."""
    out = _values(arr, np.float64)
    valid = _valid(arr)
    if valid is None:
        return out
    out = out.copy()
    out[~valid] = np.nan
    return out


def to_ints(arr: pa.Array, dtype, fill: int = 0) -> np.ndarray:
    """An integer array as numpy (`dtype`: its type's), `fill` where null."""
    out = _values(arr, dtype)
    valid = _valid(arr)
    return out if valid is None else np.where(valid, out, fill).astype(dtype)


# Above this many distinct texts, and more than half the rows, to_objects lets pyarrow convert
# (importing pandas once: 0.2 s against ~0.3 s per million distinct texts saved).
DISTINCT_TEXTS = 1 << 14


def to_objects(arr: pa.Array) -> np.ndarray:
    """A string array as a numpy object array of str, None where null. Each distinct text is
    converted once (a model's text inputs are categories: a few distinct values)."""
    encoded = pc.dictionary_encode(arr)
    if len(encoded.dictionary) > max(DISTINCT_TEXTS, len(arr) // 2):
        return arr.to_numpy(zero_copy_only=False)
    words = np.array([*encoded.dictionary.to_pylist(), None], dtype=object)
    codes = to_ints(encoded.indices, np.int32, fill=len(words) - 1)
    return words[codes]
