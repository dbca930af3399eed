"""A bounded look at a predictions file for the results table: the first rows, and the first
rejected rows wherever they are in the file. Never more than ``limit`` rows of each in memory,
however long the file.

Every row is shown at the header's width and read by it: Ratchet's appended columns (prediction,
probabilities, status, error) are a row's last fields, so a row of another width (an output
written before rows were fitted to the header) is still shown, its status read where it is,
never dropped from the rejected rows."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from engine.progress import CancelToken, Progress

PREVIEW_ROWS = 2000
_PROGRESS_EVERY = 50_000


@dataclass(frozen=True, slots=True)
class Preview:
    path: str
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (input row number from 1, fields)
    rejected: list[tuple[int, list[str]]] = field(default_factory=list)

    @property
    def status_column(self) -> int:
        return len(self.header) - 2  # the engine appends ..., status, error

    @property
    def error_column(self) -> int:
        return len(self.header) - 1


def read_preview(path: Path, delimiter: str = ",", expected_rejected: int | None = None,
                 limit: int = PREVIEW_ROWS, *, progress: Progress,
                 cancel: CancelToken) -> Preview:
    """Stops as soon as it holds ``limit`` rows and every rejected row it can keep (all of
    them when ``expected_rejected`` says how many; otherwise it reads to the end)."""
    rows: list[tuple[int, list[str]]] = []
    rejected: list[tuple[int, list[str]]] = []
    want_rejected = limit if expected_rejected is None else min(limit, expected_rejected)
    n = 0
    with Path(path).open(newline="", encoding="utf-8-sig", errors="replace") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        header = next(reader, [])
        status = len(header) - 2
        appended = len(header) - header.index("prediction") if "prediction" in header else 2
        for n, record in enumerate(reader, start=1):
            if len(record) != len(header):
                record = fitted(record, len(header), appended)
            if len(rows) < limit:
                rows.append((n, record))
            if len(rejected) < want_rejected and len(record) > status \
                    and record[status] == "rejected":
                rejected.append((n, record))
            if len(rows) >= limit and len(rejected) >= want_rejected \
                    and expected_rejected is not None:
                break
            if n % _PROGRESS_EVERY == 0:
                cancel.check()
                progress(0.0, f"Reading the results: {n:,} rows")
    return Preview(str(path), header, rows, rejected)


def fitted(record: list[str], width: int, appended: int) -> list[str]:
    """A row of another width than the header's: its input fields cut or padded to the
    header's, then its last `appended` fields (the columns Ratchet appended)."""
    if len(record) < appended:
        return record + [""] * (width - len(record))
    inputs = record[:len(record) - appended]
    inputs = (inputs + [""] * (width - appended))[:width - appended]
    return inputs + record[len(record) - appended:]
