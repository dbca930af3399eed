"""Corpus columns (Arrow) into what the predictor and the evaluation take.

Numbers are parsed the way `ratchet predict` parses them: Arrow's exact text-to-float64
conversion when every cell is a number or empty, and otherwise the predictor's own parser, which
rejects the rows whose cell is not a number (with the reason). Categories are text, with empty
as missing. Only distinct values are looked at where that is enough (categories, outcomes).
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.errors import InputError
from engine.model.markers import LEGACY_MARKERS, null_markers
from engine.model.rows import parse_numbers


def _text(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        col = pc.cast(col, pa.string())
    return col


def number_values(col: pa.Array | pa.ChunkedArray, markers: tuple[str, ...] = LEGACY_MARKERS
                  ) -> tuple[np.ndarray, np.ndarray | None]:
    """float64 (NaN where empty or a missing-value marker of the model), and where some cell
    is not a number a mask of those rows
    (their value is NaN; the caller rejects them as the predictor would, with the predictor's
    own parser deciding, run once per distinct text)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type) \
            or pa.types.is_decimal(col.type) or pa.types.is_boolean(col.type):
        return pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), None
    col = _text(col)
    as_null = null_markers(col, markers, trim=True)
    try:
        return pc.cast(as_null, pa.float64()).to_numpy(zero_copy_only=False), None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    encoded = col.dictionary_encode()
    values, bad = parse_numbers(encoded.dictionary.to_pylist(), markers)
    indices = pc.fill_null(encoded.indices, len(values)).to_numpy(zero_copy_only=False)
    values, bad = np.append(values, np.nan), np.append(bad, False)
    return values[indices], bad[indices]


def category_words(col: pa.Array | pa.ChunkedArray,
                   markers: tuple[str, ...] = LEGACY_MARKERS) -> tuple[np.ndarray, np.ndarray]:
    """(words, indices): the column's distinct texts as objects (None for a missing-value
    marker, and a last None for empty cells) and each row's index into them; Arrow's hash
    table does the distinct values, so per-word work runs once per distinct text."""
    encoded = _text(col).dictionary_encode()
    words = np.array([*encoded.dictionary.to_pylist(), None], dtype=object)
    for marker in markers:
        words[:-1][words[:-1] == marker] = None
    indices = pc.fill_null(encoded.indices, len(words) - 1)
    return words, indices.to_numpy(zero_copy_only=False)


def category_values(col: pa.Array | pa.ChunkedArray,
                    markers: tuple[str, ...] = LEGACY_MARKERS) -> np.ndarray:
    """Objects: the text of each cell, None where empty or a missing-value marker."""
    words, indices = category_words(col, markers)
    return words[indices]


def _class_of(text: str, classes: tuple) -> int | None:
    """The class a written outcome names: its exact text, or the same number ("1.0" is 1)."""
    for i, c in enumerate(classes):
        if text == str(c):
            return i
    try:
        number = float(text)
    except ValueError:
        return None
    for i, c in enumerate(classes):
        if isinstance(c, int | float) and not isinstance(c, bool) and float(c) == number:
            return i
    return None


def _bad_outcome(where: str, row: int, value: str, target: str, why: str) -> InputError:
    return InputError(f"{where}, data row {row}: the outcome {value!r} in column {target!r} "
                      f"{why}; correct it, or leave it empty to count the row as unlabelled.",
                      "E_BAD_LABEL")


def label_index(col: pa.Array | pa.ChunkedArray, task: str, classes: tuple | None,
                target: str, where: str, first: int) -> np.ndarray:
    """Classifiers: the class index of each row's outcome (int16, -1 where empty).
    Regression: the outcome as float64 (NaN where empty). Anything else is an error that names
    the file, the row (counted from 1 after the header) and the value."""
    text = pc.utf8_trim_whitespace(_text(col))
    encoded = text.dictionary_encode()
    words = encoded.dictionary.to_pylist()
    indices = pc.fill_null(encoded.indices, len(words)).to_numpy(zero_copy_only=False)
    words.append("")

    def first_row(j: int) -> int:
        return first + int(np.flatnonzero(indices == j)[0]) + 1

    if task == "regression":
        values = np.full(len(words), np.nan)
        for j, w in enumerate(words):
            if w == "":
                continue
            try:
                values[j] = float(w)
            except ValueError:
                values[j] = math.nan
            if not math.isfinite(values[j]) or not w.isascii() or "_" in w:
                raise _bad_outcome(where, first_row(j), w, target, "is not a finite number")
        return values[indices]
    codes = np.full(len(words), -1, dtype=np.int16)
    for j, w in enumerate(words):
        if w == "":
            continue
        found = _class_of(w, classes)
        if found is None:
            raise _bad_outcome(where, first_row(j), w, target,
                               "is not one of the classes the model predicts ("
                               + ", ".join(repr(str(c)) for c in classes) + ")")
        codes[j] = found
    return codes[indices]
