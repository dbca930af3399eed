"""One pass over an input CSV, the loop that batch prediction, now-tests and a trial's shadows
share: the file is opened and its columns checked once, then read chunk by chunk (memory stays
flat however long the file), each chunk's fields parsed once and scored by as many models as
need them, with a Cancel check before each chunk and the input's checksum (every byte of the
file, blank lines at the end included) ready when the last chunk is done.

A scan reads the columns its model needs plus, where the file has them, any others asked for:
a now-test's label column, or a trial's champion's inputs, so that the champion is scored
beside the challenger on the same parse instead of on a pass of its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from engine.batch.chunk_io import ChunkFields, RowFit, read_fields
from engine.batch.csv_input import CsvInput, check_columns, open_csv
from engine.batch.records import Chunk, iter_chunks
from engine.model import Model, Prediction
from engine.model.model import Feature
from engine.progress import CancelToken


@dataclass(frozen=True, slots=True)
class Scored:
    """One model's scoring of one chunk."""

    columns: dict[str, np.ndarray]  # the columns typed for it (its inputs, and any asked for)
    parsed: np.ndarray  # per row: not refused by the parse (shape or values of these columns)
    fit: RowFit  # how each row's output is fitted to the header's width
    prediction: Prediction


@dataclass(frozen=True, slots=True)
class ScannedChunk:
    chunk: Chunk
    source: CsvInput
    fields: ChunkFields

    @property
    def done(self) -> float:
        """The share of the file read so far (for progress)."""
        return min(1.0, self.chunk.end_offset / max(1, self.source.size))

    def score(self, model: Model, features: Sequence[Feature] | None = None) -> Scored:
        """`model`'s prediction of the chunk's rows, its inputs typed from the fields (with
        `features`, those columns instead: the model's inputs and any more to keep). The
        model's missing-value markers are read as missing in its inputs."""
        columns, errors, fit = self.fields.typed(
            model.features if features is None else features, model.missing_markers,
            model.feature_names)
        parsed = ~errors.rejected  # before the model adds the rows it refuses
        return Scored(columns, parsed, fit, model.predict_columns(columns, errors))


class ChunkObserver(Protocol):
    """Work done on every chunk of another's scan: a trial's champion, scored on the chunks
    its challenger's scan reads."""

    columns: Sequence[str]  # more columns to read, where the file has them

    def observe(self, scanned: ScannedChunk, prediction: Prediction) -> None:
        """`prediction`: the scan's own model's, of the same chunk."""


class CsvScan:
    """Opens `path` (raising InputError for a file no model can read) and checks that it has the
    columns `needed`; `chunks()` then reads it once. `also`: further columns to read where the
    header has them."""

    def __init__(self, path: Path, needed: Sequence[str], also: Sequence[str] = (),
                 chunk_bytes: int = 8 << 20):
        self.path = Path(path)
        self.source = open_csv(self.path)
        check_columns(self.source, list(needed))
        present = [c for c in also if c in self.source.header]
        self.columns = list(dict.fromkeys([*needed, *present]))
        self.chunk_bytes = chunk_bytes
        self.sha256: str | None = None  # of the whole file, once every chunk is read

    def chunks(self, cancel: CancelToken | None = None) -> Iterator[ScannedChunk]:
        source = self.source
        digest = hashlib.sha256()
        with self.path.open("rb") as fh:
            digest.update(fh.read(source.data_offset))
        for chunk in iter_chunks(self.path, source.data_offset, source.delimiter,
                                 self.chunk_bytes, end=source.data_end):
            if cancel is not None:
                cancel.check()
            digest.update(chunk.file_bytes)
            yield ScannedChunk(chunk, source, read_fields(chunk, source, self.columns))
        with self.path.open("rb") as fh:  # blank lines after the last row: not rows, but bytes
            fh.seek(source.data_end)
            digest.update(fh.read())
        self.sha256 = digest.hexdigest()
