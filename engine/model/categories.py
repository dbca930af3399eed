"""Vectorised lookup of category values, and the one-hot and ordinal encoders built on it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.model.reader import Reader
from engine.model.rows import RowErrors, missing_mask, show_value

NUMBER = "number"
CATEGORY = "category"
DISTINCT_MIN_ROWS = 1024  # below this, looking every cell up costs less than collapsing them


class CategoryIndex:
    """Maps values to the position of their category (-1 when unknown): numpy, and for big
    columns of text Arrow's dictionary encoding to look up each distinct text once."""

    __slots__ = ("categories", "kind", "order", "sorted_keys")

    def __init__(self, categories: list, kind: str):
        self.categories = categories
        self.kind = kind
        if kind == NUMBER:
            keys = np.array(categories, dtype=np.float64)
        else:
            keys = np.array([str(c) for c in categories], dtype=str)
        self.order = np.argsort(keys, kind="stable")
        self.sorted_keys = keys[self.order]

    def lookup(self, values: np.ndarray, missing: np.ndarray) -> np.ndarray:
        if len(self.categories) == 0:
            return np.full(values.shape[0], -1, dtype=np.int64)
        if self.kind != NUMBER and (distinct := _distinct_text(values, missing)) is not None:
            # The same rule as below, applied to each distinct text once instead of per cell.
            words, index = distinct
            found = self._positions(words, np.zeros(len(words), dtype=bool))
            return np.where(missing, -1, found[index])
        return self._positions(values, missing)

    def _positions(self, values: np.ndarray, missing: np.ndarray) -> np.ndarray:
        if self.kind == NUMBER:
            keys = np.where(missing, np.nan, values).astype(np.float64)
        else:
            # At most one character longer than the longest category: a longer text still
            # matches none, and one huge text no longer widens every cell to its length.
            width = self.sorted_keys.dtype.itemsize // np.dtype("U1").itemsize + 1
            keys = np.where(missing, "", values).astype(f"U{width}")
        pos = np.searchsorted(self.sorted_keys, keys)
        pos = np.minimum(pos, len(self.sorted_keys) - 1)
        found = (self.sorted_keys[pos] == keys) & ~missing
        return np.where(found, self.order[pos], -1)


def _distinct_text(values: np.ndarray, missing: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray] | None:
    """An object column whose cells are all text (or missing) as its distinct texts and, per
    row, an index into them (any index where missing); None for anything else (numbers,
    bytes, mixed), which is then looked up cell by cell. A column of a few hundred distinct
    values in 100,000 rows costs one Arrow pass instead of a Python string per cell."""
    if values.dtype.kind != "O" or values.shape[0] < DISTINCT_MIN_ROWS:
        return None
    # pyarrow is a runtime dependency; only the predictor's big batches need it here. Its
    # arrays are built without pa.array, which would import pandas (arrow_arrays).
    from engine.model import arrow_arrays as aa
    from engine.model import arrow_compute

    present = ~missing
    if not present.any():
        return None
    try:  # every cell that is not missing must be text
        text = aa.strings(values[present])
    except (AttributeError, TypeError, UnicodeEncodeError, OverflowError):
        return None
    encoded = arrow_compute.dictionary_encode(text)
    index = np.zeros(values.shape[0], dtype=np.int32)
    index[present] = aa.to_ints(encoded.indices, np.int32)
    return np.array(encoded.dictionary.to_pylist(), dtype=object), index


def read_categories(r: Reader, kind: str) -> list:
    cats = []
    seen = set()
    for item in r.items():
        value = item.number() if kind == NUMBER else item.str()
        if value in seen:
            raise item.fail(f"the category {show_value(value)} appears twice")
        seen.add(value)
        cats.append(value)
    return cats


def _message(values: np.ndarray, name: str, what: str, categories: list):
    """The reason a row is rejected by an encoder, built only for rejected rows."""
    if what != "unknown":
        return lambda row: f"column {name!r}: missing value, which this model cannot encode"
    known = ", ".join(show_value(c) for c in categories[:12])
    more = ", …" if len(categories) > 12 else ""
    return lambda row: (f"column {name!r}: unknown category {show_value(values[row])} "
                        f"(the model knows {known}{more})")


def _read_policy(r: Reader, width: int | None):
    """'error', 'ignore' (one-hot only), or an output value: a column index / a code / null."""
    if isinstance(r.value, str):
        return r.str({"error", "ignore"} if width is not None else {"error"})
    if width is not None:
        return r.int(0, width - 1)
    if r.value is None:
        return None
    return r.number()


@dataclass(frozen=True, slots=True)
class OneHotColumn:
    """One input column's one-hot block: `columns[i]` is the output position of category i."""

    index: CategoryIndex
    columns: np.ndarray
    width: int
    unknown: object  # "error" | "ignore" | int
    missing: object  # "error" | "ignore" | int

    @classmethod
    def parse(cls, r: Reader, kind: str) -> OneHotColumn:
        r.only_keys({"categories", "columns", "width", "unknown", "missing"})
        cats = read_categories(r.child("categories"), kind)
        width = r.child("width").int(0)
        columns = r.child("columns").ints(len(cats), minimum=-1)
        if columns.size and columns.max() >= width:
            raise r.child("columns").fail(f"column positions must be below width {width}")
        unknown = _read_policy(r.child("unknown"), width)
        missing = _read_policy(r.child("missing"), width)
        return cls(CategoryIndex(cats, kind), columns, width, unknown, missing)

    def encode(self, values: np.ndarray, name: str, errors: RowErrors) -> list[np.ndarray]:
        n = values.shape[0]
        miss = missing_mask(values)
        idx = self.index.lookup(values, miss)
        out_pos = np.full(n, -1, dtype=np.int64)
        if len(self.columns):
            out_pos = np.where(idx >= 0, self.columns[np.maximum(idx, 0)], -1)
        unknown = (idx < 0) & ~miss
        for mask, policy, what in ((unknown, self.unknown, "unknown"), (miss, self.missing, "")):
            if not mask.any():
                continue
            if policy == "error":
                errors.add(mask, _message(values, name, what, self.index.categories))
            elif policy != "ignore":
                out_pos = np.where(mask, policy, out_pos)
        block = np.zeros((self.width, n))
        hit = out_pos >= 0
        block[out_pos[hit], np.flatnonzero(hit)] = 1.0
        return list(block)


@dataclass(frozen=True, slots=True)
class OrdinalColumn:
    """One input column's ordinal codes; `codes[i]` is the code of category i (NaN allowed)."""

    index: CategoryIndex
    codes: np.ndarray
    unknown: object  # "error" | float (NaN allowed)
    missing: object  # "error" | float (NaN allowed)

    @classmethod
    def parse(cls, r: Reader, kind: str) -> OrdinalColumn:
        r.only_keys({"categories", "codes", "unknown", "missing"})
        cats = read_categories(r.child("categories"), kind)
        codes_r = r.child("codes")
        codes_r.list(len(cats))
        codes = np.array([np.nan if c.value is None else c.number() for c in codes_r.items()])
        unknown = _read_policy(r.child("unknown"), None)
        missing = _read_policy(r.child("missing"), None)
        unknown = np.nan if unknown is None else unknown
        missing = np.nan if missing is None else missing
        return cls(CategoryIndex(cats, kind), codes, unknown, missing)

    def encode(self, values: np.ndarray, name: str, errors: RowErrors) -> np.ndarray:
        miss = missing_mask(values)
        idx = self.index.lookup(values, miss)
        out = self.codes[np.maximum(idx, 0)] if len(self.codes) else np.zeros(len(idx))
        unknown = (idx < 0) & ~miss
        for mask, policy, what in ((unknown, self.unknown, "unknown"), (miss, self.missing, "")):
            if not mask.any():
                continue
            if isinstance(policy, str):
                errors.add(mask, _message(values, name, what, self.index.categories))
            else:
                out = np.where(mask, policy, out)
        return np.asarray(out, dtype=np.float64)
