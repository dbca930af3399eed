"""Batch predictions of a CSV file, streamed in chunks: memory stays flat however long the file.

The output is written to a temporary file beside the destination and renamed into place only
when every row is done, with its provenance sidecar: it appears whole or not at all (Cancel,
an error, or a crash leave nothing behind).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from engine import __version__
from engine.batch.chunk_io import output_header, output_lines, parse_chunk
from engine.batch.csv_input import check_columns, open_csv
from engine.batch.records import iter_chunks
from engine.errors import InputError
from engine.fileio import write_atomic
from engine.model import Model
from engine.progress import CancelToken, Progress, no_progress


@dataclass(frozen=True, slots=True)
class BatchResult:
    model: str
    rows: int
    ok: int
    rejected: int
    input: str
    input_sha256: str
    output: str
    bundle_sha256: str
    started: str
    finished: str
    app_version: str

    def to_json(self) -> dict:
        return asdict(self)


def provenance_path(output: Path) -> Path:
    return output.with_name(output.name + ".provenance.json")


def _check_paths(source: Path, output: Path) -> None:
    if not output.parent.is_dir():
        raise InputError(f"{output}: the output folder {output.parent} does not exist; create "
                         "it or choose another place.", "E_OUTPUT_FOLDER")
    if output.is_dir():
        raise InputError(f"{output} is a folder; give a file name for the output.",
                         "E_OUTPUT_FOLDER")
    if output.exists() and source.exists() and os.path.samefile(source, output):
        raise InputError(f"{output}: the output would overwrite the input; choose another "
                         "name.", "E_OUTPUT_IS_INPUT")


def score_csv(source_path: Path, output: Path, model: Model, model_label: str,
              bundle_sha256: str = "", progress: Progress = no_progress,
              cancel: CancelToken | None = None, chunk_bytes: int = 8 << 20) -> BatchResult:
    """Score every row of `source_path` into `output` (see the module docstring)."""
    source_path, output = Path(source_path), Path(output)
    _check_paths(source_path, output)
    source = open_csv(source_path)
    check_columns(source, model.feature_names)
    header = output_header(source, model)
    started = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    digest = hashlib.sha256()
    with source_path.open("rb") as fh:
        digest.update(fh.read(source.data_offset))
    rows = rejected = 0
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".part", dir=output.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(header.encode("utf-8"))
            progress(0.0, f"Scoring {source_path.name}")
            for chunk in iter_chunks(source_path, source.data_offset, source.delimiter,
                                     chunk_bytes, end=source.data_end):
                if cancel is not None:
                    cancel.check()
                digest.update(chunk.file_bytes)
                columns, errors, pad = parse_chunk(chunk, source, model)
                result = model.predict_columns(columns, errors)
                out.write(output_lines(chunk, result, model, source.delimiter, pad))
                rows += len(result.rejected)
                rejected += int(result.rejected.sum())
                progress(min(1.0, chunk.end_offset / max(1, source.size)),
                         f"{rows:,} rows scored, {rejected:,} rejected")
            if cancel is not None:
                cancel.check()
            with source_path.open("rb") as fh:  # blank lines after the last row: not rows
                fh.seek(source.data_end)
                digest.update(fh.read())
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; an output file is an ordinary file
        result = BatchResult(model_label, rows, rows - rejected, rejected, str(source_path),
                             digest.hexdigest(), str(output), bundle_sha256, started,
                             dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
                             __version__)
        os.replace(tmp, output)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    write_atomic(provenance_path(output),
                 (json.dumps(result.to_json(), indent=2) + "\n").encode("utf-8"))
    progress(1.0, f"Done: {rows:,} rows, {rejected:,} rejected")
    return result
