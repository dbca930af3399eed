"""Typed, path-tracking access to a parsed JSON document.

Every accessor checks the type (and shape) of what it returns and, when the document does not
match, raises `CoefficientsInvalid` naming the JSON path and what was expected. The loader reads
the coefficient file only through this class, so a malformed file can never surface as a
KeyError, IndexError or TypeError from deep inside the predictor.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from itertools import chain
from typing import Any

import numpy as np

from engine.errors import CoefficientsInvalid

# Infinite thresholds occur in real models (HistGradientBoosting splits "missing vs. not") but
# strict JSON has no literal for them, so the format spells them as these strings.
INFINITIES = {"+inf": math.inf, "-inf": -math.inf}


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _to_float(value) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf  # then refused as not finite


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# What a JSON parser gives for a number (bool is not int here: `type(True) is bool`); checking
# `NUMBER_TYPES.issuperset(map(type, values))` checks a whole list in C.
NUMBER_TYPES = frozenset((int, float))


class Reader:
    """A JSON value plus the path that leads to it."""

    __slots__ = ("path", "source", "value")

    def __init__(self, value: Any, path: str = "$", source: str | None = None):
        self.value = value
        self.path = path
        self.source = source

    # -- failures -------------------------------------------------------------------------
    def fail(self, problem: str) -> CoefficientsInvalid:
        return CoefficientsInvalid(self.path, problem, self.source)

    def expected(self, what: str) -> CoefficientsInvalid:
        return self.fail(f"expected {what}, found {_describe(self.value)}")

    # -- navigation -------------------------------------------------------------------------
    def _object(self) -> dict:
        if not isinstance(self.value, dict):
            raise self.expected("an object")
        return self.value

    def child(self, key: str) -> Reader:
        obj = self._object()
        if key not in obj:
            raise self.fail(f"the required field {key!r} is missing")
        return Reader(obj[key], f"{self.path}.{key}", self.source)

    def optional(self, key: str) -> Reader | None:
        obj = self._object()
        if key not in obj or obj[key] is None:
            return None
        return Reader(obj[key], f"{self.path}.{key}", self.source)

    def only_keys(self, allowed: set[str]) -> None:
        extra = sorted(set(self._object()) - allowed)
        if extra:
            raise self.fail(f"unknown field {extra[0]!r} (allowed: {', '.join(sorted(allowed))})")

    def items(self, length: int | None = None, min_length: int = 0) -> Iterator[Reader]:
        values = self.list(length, min_length)
        for i, value in enumerate(values):
            yield Reader(value, f"{self.path}[{i}]", self.source)

    # -- scalars ----------------------------------------------------------------------------
    def str(self, choices: set[str] | None = None) -> str:
        if not isinstance(self.value, str):
            raise self.expected("a string")
        if choices is not None and self.value not in choices:
            raise self.expected("one of " + ", ".join(repr(c) for c in sorted(choices)))
        return self.value

    def bool(self) -> bool:
        if not isinstance(self.value, bool):
            raise self.expected("true or false")
        return self.value

    def int(self, minimum: int | None = None, maximum: int | None = None) -> int:
        if not isinstance(self.value, int) or isinstance(self.value, bool):
            raise self.expected("an integer")
        if minimum is not None and self.value < minimum:
            raise self.expected(f"an integer >= {minimum}")
        if maximum is not None and self.value > maximum:
            raise self.expected(f"an integer <= {maximum}")
        return self.value

    def number(self) -> float:
        if not _is_number(self.value):
            raise self.expected("a number")
        try:
            value = float(self.value)
        except OverflowError:
            value = math.inf
        if not math.isfinite(value):
            raise self.expected("a finite number")
        return value

    def scalar(self) -> str | float | bool:
        """A JSON scalar used as a label or category: string, number or boolean."""
        if isinstance(self.value, str | bool) or _is_number(self.value):
            return self.value
        raise self.expected("a string, number or boolean")

    # -- arrays ----------------------------------------------------------------------------
    def list(self, length: int | None = None, min_length: int = 0) -> list:
        if not isinstance(self.value, list):
            raise self.expected("a list")
        if length is not None and len(self.value) != length:
            raise self.fail(f"expected a list of {length} items, found {len(self.value)}")
        if len(self.value) < min_length:
            raise self.fail(f"expected at least {min_length} items, found {len(self.value)}")
        return self.value

    def _bad_item(self, values: list, ok, what: str) -> None:
        for i, v in enumerate(values):
            if not ok(v):
                raise Reader(v, f"{self.path}[{i}]", self.source).expected(what)

    def floats(self, length: int | None = None, allow_infinite: bool = False) -> np.ndarray:
        values = self.list(length)
        if allow_infinite:
            values = [INFINITIES.get(v, v) if isinstance(v, str) else v for v in values]
        # Only JSON numbers count (numpy would also turn the text "0.5" into a number).
        if not NUMBER_TYPES.issuperset(map(type, values)):
            self._bad_item(values, _is_number, "a number")
        try:
            arr = np.array(values, dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            arr = np.array([_to_float(v) for v in values], dtype=np.float64)
        finite = np.isfinite(arr) if not allow_infinite else ~np.isnan(arr)
        if not finite.all():
            bad = int(np.flatnonzero(~finite)[0])
            raise Reader(values[bad], f"{self.path}[{bad}]", self.source).expected(
                "a finite number" if not allow_infinite else "a number"
            )
        return arr

    def ints(self, length: int | None = None, minimum: int | None = None) -> np.ndarray:
        values = self.list(length)
        if values and {int}.issuperset(map(type, values)):  # the common case, in one pass
            try:
                arr = np.array(values, dtype=np.int64)
            except OverflowError:
                arr = None
            if arr is not None and not ((arr >= 2**62) | (arr <= -(2**62))).any() and (
                    minimum is None or arr.min() >= minimum):
                return arr
        is_int = [isinstance(v, int) and not isinstance(v, bool) for v in values]
        if not all(is_int):
            bad = is_int.index(False)
            raise Reader(values[bad], f"{self.path}[{bad}]", self.source).expected("an integer")
        too_big = [i for i, v in enumerate(values) if abs(v) >= 2**62]
        if too_big:
            raise Reader(values[too_big[0]], f"{self.path}[{too_big[0]}]", self.source).expected(
                "an integer of a sensible size")
        arr = np.array(values, dtype=np.int64) if values else np.zeros(0, dtype=np.int64)
        if minimum is not None and arr.size and arr.min() < minimum:
            bad = int(np.flatnonzero(arr < minimum)[0])
            raise Reader(values[bad], f"{self.path}[{bad}]", self.source).expected(
                f"an integer >= {minimum}"
            )
        return arr

    def bools(self, length: int | None = None) -> np.ndarray:
        values = self.list(length)
        if not {bool}.issuperset(map(type, values)):
            self._bad_item(values, lambda v: isinstance(v, bool), "true or false")
        return np.array(values, dtype=np.uint8)

    def matrix(self, rows: int | None = None, cols: int | None = None) -> np.ndarray:
        """A list of equally long lists of finite numbers."""
        fast = self._plain_matrix(rows, cols)
        if fast is not None:
            return fast
        row_arrays = [r.floats(cols) for r in self.items(rows)]
        if not row_arrays:
            return np.zeros((0, cols or 0))
        width = len(row_arrays[0])
        for i, row in enumerate(row_arrays):
            if len(row) != width:
                raise Reader(self.value[i], f"{self.path}[{i}]", self.source).fail(
                    f"expected {width} numbers like the first row, found {len(row)}"
                )
        return np.vstack(row_arrays)

    def _plain_matrix(self, rows: int | None, cols: int | None) -> np.ndarray | None:
        """`matrix` of a well-formed value in one pass (a tree's node values: one short row
        per node); None for anything else, which `matrix` then reads row by row to name the
        first problem."""
        values = self.value
        if not isinstance(values, list) or not values or (rows is not None
                                                          and len(values) != rows):
            return None
        if not {list}.issuperset(map(type, values)):
            return None
        width = len(values[0])
        if (cols is not None and width != cols) or {width} != set(map(len, values)):
            return None
        flat = list(chain.from_iterable(values))
        if not NUMBER_TYPES.issuperset(map(type, flat)):
            return None
        try:
            arr = np.array(flat, dtype=np.float64).reshape(len(values), width)
        except (OverflowError, ValueError):
            return None
        return arr if np.isfinite(arr).all() else None
