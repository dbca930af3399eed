"""Per-row problems found while scoring a batch, and helpers to detect missing values.

A row that cannot be scored is kept and marked, never dropped: the caller writes it back with
`status=rejected` and the first reason found for it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def missing_mask(values: np.ndarray) -> np.ndarray:
    """True where a value is missing: NaN for numbers; None or NaN for categories."""
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind == "O":
        # Elementwise: `== None` finds None, `!= itself` finds float NaN (and pandas NA-likes).
        with np.errstate(invalid="ignore"):
            return np.asarray(values == None, dtype=bool) | np.asarray(  # noqa: E711
                values != values, dtype=bool
            )
    return np.zeros(values.shape[0], dtype=bool)


SHOWN_CHARACTERS = 60  # a longer text is shown by its start and its length


def show_value(value) -> str:
    """A value as an operator would recognise it in a message (a long text shortened)."""
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    if isinstance(value, str) and len(value) > SHOWN_CHARACTERS:
        return f"{value[:SHOWN_CHARACTERS]!r}… ({len(value):,} characters)"
    return repr(value) if isinstance(value, str) else str(value)


class RowErrors:
    """Collects the first problem of every rejected row."""

    __slots__ = ("messages", "rejected", "written")

    def __init__(self, n_rows: int):
        self.rejected = np.zeros(n_rows, dtype=bool)
        self.messages: dict[int, str] = {}
        # Per column, the cells read as missing from a marker other than the empty cell:
        # (rows, ascending; the marker as written), so that a refusal can name it.
        self.written: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def note_written(self, name: str, rows: np.ndarray, texts: np.ndarray) -> None:
        order = np.argsort(rows, kind="stable")
        self.written[name] = (np.asarray(rows)[order], np.asarray(texts, dtype=object)[order])

    def written_at(self, name: str, row: int) -> str | None:
        """The marker the file wrote in column `name` of `row`, if it wrote one (not empty)."""
        found = self.written.get(name)
        if found is None:
            return None
        rows, texts = found
        at = int(np.searchsorted(rows, row))
        return texts[at] if at < len(rows) and rows[at] == row else None

    def copy(self) -> RowErrors:
        other = RowErrors(0)
        other.rejected = self.rejected.copy()
        other.messages = dict(self.messages)
        other.written = dict(self.written)
        return other

    def add(self, mask: np.ndarray, message: Callable[[int], str]) -> None:
        """Mark the rows in `mask`; `message(row)` is called only for rows not yet rejected."""
        new = mask & ~self.rejected
        if not new.any():
            return
        for row in np.flatnonzero(new):
            self.messages[int(row)] = message(int(row))
        self.rejected |= new

    def message(self, row: int) -> str | None:
        return self.messages.get(row)


def reject_infinite(columns, names, unscorable: np.ndarray, errors: RowErrors) -> None:
    """Of the rows the model could not score, those with an infinite number (written `inf`,
    `-inf`, or too large for a float, e.g. 1e999) are refused naming its column and value."""
    for col, name in zip(columns, names, strict=True):
        if col.dtype.kind != "f":
            continue
        infinite = unscorable & np.isinf(col)
        if infinite.any():
            errors.add(infinite, lambda row, col=col, name=name: (
                f"column {name!r}: {show_value(float(col[row]))} is not a finite number, and "
                "this model cannot score an infinite value; give a finite number"))


def missing_message(name: str, errors: RowErrors):
    """The refusal of a missing value where the model needs one (naming the marker written)."""
    def message(row: int) -> str:
        written = errors.written_at(name, row)
        shown = "" if written is None else f" (written {written!r})"
        return f"column {name!r}: missing value{shown}, and this model needs one here"
    return message


def parse_numbers(values, markers=("",)) -> tuple[np.ndarray, np.ndarray]:
    """Cells -> float64, and a mask of the cells that are not numbers. Missing (None, NaN,
    empty or blank text, or a missing-value marker, see engine.model.markers) becomes NaN; text
    must be a plain ASCII number (float() alone would also take "1_000" and other scripts'
    digits)."""
    out = np.full(len(values), np.nan)
    bad = np.zeros(len(values), dtype=bool)
    named = {m for m in markers if m}
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and v != v):
            continue
        if isinstance(v, str):
            v = v.strip()
            if not v or v in named:
                continue
            if not v.isascii() or "_" in v:
                bad[i] = True
                continue
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            bad[i] = True
    return out, bad
