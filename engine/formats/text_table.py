"""A small CSV read as text, every cell as written: what the regression cases and the pinned
outliers need, with Python's own csv module.

A bundle's regression_cases.csv holds a few thousand rows; reading it with pandas cost the
suite and every now-test about 0.3 s of importing pandas for a few milliseconds of parsing
(issue 16). The rules are pandas' `read_csv(dtype=str, keep_default_na=False)` ones: the
first line names the columns, quoted fields may hold the separator, quotes and line breaks,
blank lines are skipped, an empty cell stays "". Where pandas would guess (a row with fewer
fields than the header, two columns of one name) this says which row or column and stops.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping

import numpy as np


class TextTableError(ValueError):
    """The text is not a table: the message names the row or column."""


class TextTable:
    """Columns of text (object arrays of str) and, per row, its 0-based data row in the file
    (`rows`), so that a filtered table still names the rows people see in the file."""

    __slots__ = ("_cells", "columns", "rows")

    def __init__(self, columns: Iterable[str], cells: Mapping[str, np.ndarray],
                 rows: np.ndarray | None = None):
        self.columns = tuple(columns)
        self._cells = {c: np.asarray(cells[c], dtype=object) for c in self.columns}
        size = len(self._cells[self.columns[0]]) if self.columns else 0
        self.rows = np.arange(size, dtype=np.int64) if rows is None else np.asarray(rows)

    @classmethod
    def read(cls, data: bytes) -> TextTable:
        """Raises TextTableError (not UTF-8, a field left open, a row of the wrong width, a
        repeated column name)."""
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise TextTableError(f"it is not UTF-8 text (byte {exc.start + 1}); save it as "
                                 "UTF-8.") from None
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        try:
            lines = [line for line in reader if line]
        except csv.Error as exc:
            raise TextTableError(f"line {reader.line_num}: {exc}; check the quotes there (a "
                                 "quoted field must be closed, and a quote inside it written "
                                 'twice, "").') from None
        if not lines:
            raise TextTableError("it is empty; it needs a header line naming the columns.")
        header = lines[0]
        seen = set()
        for name in header:
            if name in seen:
                raise TextTableError(f"the column {name!r} appears twice in the header; give "
                                     "each column its own name.")
            seen.add(name)
        body = lines[1:]
        for i, line in enumerate(body):
            if len(line) != len(header):
                raise TextTableError(f"row {i + 1} has {len(line)} fields, the header "
                                     f"{len(header)}: give every row one field per column "
                                     "(quote a field that holds a comma).")
        by_column = list(zip(*body, strict=True)) if body else [()] * len(header)
        return cls(header, {name: np.array(col, dtype=object)
                            for name, col in zip(header, by_column, strict=True)})

    @classmethod
    def from_records(cls, records: list[Mapping[str, str]]) -> TextTable:
        """Rows as dicts; the columns in the order they first appear, a cell a row lacks ""."""
        columns = list(dict.fromkeys(name for r in records for name in r))
        return cls(columns, {c: np.array([str(r.get(c, "")) for r in records], dtype=object)
                             for c in columns})

    def __len__(self) -> int:
        return int(self.rows.size)

    @property
    def empty(self) -> bool:
        return len(self) == 0

    def __contains__(self, name: str) -> bool:
        return name in self._cells

    def __getitem__(self, key):
        """A column's cells by name, or the rows a boolean mask keeps, as a table."""
        if isinstance(key, str):
            return self._cells[key]
        mask = np.asarray(key, dtype=bool)
        return TextTable(self.columns, {c: v[mask] for c, v in self._cells.items()},
                         self.rows[mask])

    def record(self, i: int) -> dict[str, str]:
        return {c: self._cells[c][i] for c in self.columns}

    def to_csv(self) -> bytes:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows(zip(*(self._cells[c] for c in self.columns), strict=True))
        return buf.getvalue().encode("utf-8")
