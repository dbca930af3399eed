"""A look at a CSV before scoring it: how many rows, which columns match, sample problems."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.batch.chunk_io import parse_chunk
from engine.batch.csv_input import open_csv
from engine.batch.records import iter_chunks
from engine.model import Model
from engine.progress import CancelToken

SAMPLE_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Inspection:
    path: str
    rows: int
    columns: int
    matched: list[str]
    missing: list[str]
    extra: list[str]
    delimiter: str
    sample_rows: int
    sample_rejected: int
    sample_problems: list[str] = field(default_factory=list)  # up to 5 "row N: reason"

    @property
    def ready(self) -> bool:
        return not self.missing


def inspect_csv(path: Path, model: Model, cancel: CancelToken | None = None) -> Inspection:
    """Raises the same file-level errors as scoring would; never writes anything."""
    source = open_csv(Path(path))
    needed = model.feature_names
    matched = [c for c in needed if c in source.header]
    missing = [c for c in needed if c not in source.header]
    extra = [c for c in source.header if c not in needed]
    rows = 0
    sample_rows = sample_rejected = 0
    problems: list[str] = []
    for chunk in iter_chunks(source.path, source.data_offset, source.delimiter, SAMPLE_BYTES,
                             end=source.data_end):
        if cancel is not None:
            cancel.check()
        n = len(chunk.starts) - 1
        if rows == 0 and not missing:
            columns, errors, _ = parse_chunk(chunk, source, model)
            result = model.predict_columns(columns, errors)
            sample_rows = n
            sample_rejected = int(result.rejected.sum())
            problems = [f"row {row + 1}: {msg}" for row, msg in sorted(result.errors.items())[:5]]
        rows += n
    return Inspection(str(source.path), rows, len(source.header), matched, missing, extra,
                      source.delimiter, sample_rows, sample_rejected, problems)
