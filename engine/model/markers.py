"""Missing-value markers: the texts an operator's file writes for "no value here".

They are part of a model's input schema (`missing_markers` in the coefficient file, chosen at
export). Every reader of an operator's text for a model (batch prediction, now-tests, trial
shadows, back-tests, regression cases and reference rows) turns text into the model's typed
columns through the functions here, so a marker means exactly what the empty cell means, for
numbers and categories alike. A number cell is compared with its surrounding spaces removed
(as the empty cell: a blank number cell is missing), a category cell as written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa

from engine.model import arrow_arrays as aa
from engine.model import arrow_compute as pc

LEGACY_MARKERS = ("",)  # a coefficient file without the field: only the empty cell
DEFAULT_MARKERS = ("", "NA")  # what `ratchet export` writes unless told otherwise
MAX_MARKER_CHARS = 20
FORBIDDEN = {",": "a comma", ";": "a semicolon", '"': "a quote", "\n": "a line break",
             "\r": "a carriage return"}


def marker_problem(markers: Sequence, categories: Mapping[str, Sequence[str]]
                   ) -> tuple[int | None, str] | None:
    """The first problem of a marker list (index of the marker, or None for the list as a
    whole; what is wrong), or None. `categories`: known categories, by where they are known
    (e.g. "the input 'carrier'")."""
    if "" not in markers:
        return None, ("the empty cell ('') must be one of the markers: a CSV file writes nothing "
                   "else for a value it does not have")
    seen: set[str] = set()
    for i, marker in enumerate(markers):
        if not isinstance(marker, str):
            return i, "expected a string"
        if marker in seen:
            return i, f"the marker {marker!r} is listed twice"
        seen.add(marker)
        if len(marker) > MAX_MARKER_CHARS:
            return i, f"a marker is at most {MAX_MARKER_CHARS} characters long"
        for ch, what in FORBIDDEN.items():
            if ch in marker:
                return i, f"the marker {marker!r} contains {what}, which a CSV cell cannot " \
                          "hold unquoted"
        if marker != marker.strip():
            return i, f"the marker {marker!r} starts or ends with a space"
        if marker and _finite_number(marker):
            return i, (f"the marker {marker!r} reads as a number, so it would hide a real "
                       "value; choose a text that is not a number")
        for where, cats in categories.items():
            if marker in cats:
                return i, (f"the marker {marker!r} is also a category of {where}; a value "
                           "cannot both be a category and mean missing")
    return None


def _finite_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _named(markers: Sequence[str]) -> list[str]:
    return [m for m in markers if m]


def null_markers(strings: pa.Array, markers: Sequence[str], trim: bool) -> pa.Array:
    """The text with every marker (compared trimmed if `trim`) made null."""
    text = pc.utf8_trim_whitespace(strings) if trim else strings
    hit = pc.is_in(text, aa.strings(list(markers)))
    return pc.if_else(hit, aa.NULL_STRING, text)


def written_markers(strings: pa.Array, markers: Sequence[str], trim: bool
                    ) -> tuple[np.ndarray, np.ndarray] | None:
    """Where a marker other than the empty cell is written: (cells, their text), or None."""
    named = _named(markers)
    if not named:
        return None
    text = pc.utf8_trim_whitespace(strings) if trim else strings
    index = pc.index_in(text, aa.strings(named))
    codes = aa.to_ints(index, np.int32, fill=-1)
    cells = np.flatnonzero(codes >= 0)
    if not cells.size:
        return None
    return cells, np.array(named, dtype=object)[codes[cells]]


def object_markers(values: np.ndarray, markers: Sequence[str]) -> np.ndarray:
    """Per cell of an object column: is it one of the markers, as written (text cells only)."""
    wanted = set(markers)
    return np.fromiter((isinstance(v, str) and v in wanted for v in values), dtype=bool,
                       count=len(values))
