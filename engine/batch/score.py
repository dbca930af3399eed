"""Batch predictions of a CSV file, streamed in chunks: memory stays flat however long the file.

The output is written to a temporary file beside the destination and renamed into place only
when every row is done, with its provenance sidecar: it appears whole or not at all (Cancel,
an error, or a crash leave nothing behind but a temporary file that the next run in that folder
removes). Given the workspace database, the output, its provenance and its history row are
committed together (engine.batch.commit).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

from engine import __version__
from engine.batch.chunk_io import output_header, output_lines
from engine.batch.commit import commit_output
from engine.batch.explain_cells import ExplainRequest, explanation_cells
from engine.batch.result import BatchResult, provenance_bytes, provenance_path
from engine.batch.scan import ChunkObserver, CsvScan
from engine.errors import InputError
from engine.ground import faults
from engine.ground.fileio import (
    check_output_path,
    owned_temp,
    replace_into,
    sweep_leftovers,
    write_atomic,
)
from engine.model import Model
from engine.progress import CancelToken, Progress, no_progress


def _check_paths(source: Path, output: Path) -> None:
    check_output_path(output)
    if output.exists() and source.exists() and os.path.samefile(source, output):
        raise InputError(f"{output}: the output would overwrite the input; choose another "
                         "name.", "E_OUTPUT_IS_INPUT")


def score_csv(source_path: Path, output: Path, model: Model, model_label: str,
              bundle_sha256: str = "", progress: Progress = no_progress,
              cancel: CancelToken | None = None, chunk_bytes: int = 8 << 20,
              db=None, alongside: ChunkObserver | None = None,
              explain: ExplainRequest | None = None) -> BatchResult:
    """Score every row of `source_path` into `output` (see the module docstring). With `db`
    (the workspace's SQLite connection) the batch is recorded in its history together with the
    output and its provenance. `alongside` sees every chunk scored (a trial's champion, scored
    on the challenger's shadow pass). `explain`: explanation columns to append (a model that
    cannot be explained is refused before anything is written)."""
    source_path, output = Path(source_path), Path(output)
    _check_paths(source_path, output)
    explain = explain or ExplainRequest()
    explain.check(model)
    sweep_leftovers(output.parent)
    scan = CsvScan(source_path, model.feature_names,
                   alongside.columns if alongside is not None else (), chunk_bytes)
    source = scan.source
    header = output_header(source, model, explain.names(model) if explain else ())
    started = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    out_digest = hashlib.sha256()
    rows = rejected = 0
    fd, tmp = owned_temp(output, "part")
    try:
        with os.fdopen(fd, "wb") as out:
            _write(out, out_digest, header.encode("utf-8"))
            progress(0.0, f"Scoring {source_path.name}")
            for scanned in scan.chunks(cancel):
                scored = scanned.score(model)
                result = scored.prediction
                extra = explanation_cells(explain, model, scored.columns, result,
                                          source.delimiter) if explain else ()
                _write(out, out_digest, output_lines(scanned.chunk, result, model,
                                                     source.delimiter, scored.fit, extra))
                if alongside is not None:
                    alongside.observe(scanned, result)
                rows += len(result.rejected)
                rejected += int(result.rejected.sum())
                progress(scanned.done, f"{rows:,} rows scored, {rejected:,} rejected")
                faults.step("predict.chunk-written")
            if cancel is not None:
                cancel.check()
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; an output file is an ordinary file
        result = BatchResult(model_label, rows, rows - rejected, rejected, str(source_path),
                             scan.sha256, str(output), bundle_sha256, started,
                             dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
                             __version__, out_digest.hexdigest(),
                             explanations=explain.provenance())
        faults.step("predict.scored")
        if db is not None:
            result = commit_output(db, result, tmp)
        else:
            replace_into(tmp, output)
            write_atomic(provenance_path(output), provenance_bytes(result))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    progress(1.0, f"Done: {rows:,} rows, {rejected:,} rejected")
    return result


def _write(out, digest, data) -> None:
    out.write(data)
    digest.update(data)
