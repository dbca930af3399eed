"""The Back-test page's work: look at a corpus (its columns, and which look like times), run
the back-test (engine.services.backtest, as `ratchet backtest` does: the champion and
challengers from the registry or bundle files, recorded with its report), read the history
back, and export the HTML report.

Every function here runs as a job (gui.workers): ``fn(..., progress=..., cancel=...)``.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from engine.backtest.corpus import corpus_files, file_header
from engine.backtest.run import BacktestResult
from engine.backtest.store import list_backtests
from engine.batch.csv_input import open_csv
from engine.progress import CancelToken, Progress
from engine.registry.registry import Registry
from engine.services.backtest import backtest, write_report

SNIFF_ROWS = 50  # data rows read after the header to tell which columns hold times
SNIFF_BYTES = 256 << 10
HISTORY_LIMIT = 200
# 2013-07, 2013-07-01, 2013-07-01 05:00, 2013-07-01T05:00:00.000Z, ...+01:00
_TIME = re.compile(r"^\d{4}-\d{1,2}(-\d{1,2})?([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?"
                   r"\s*(Z|[+-]\d{2}:?\d{2})?$")


@dataclass(frozen=True, slots=True)
class CorpusInfo:
    path: Path
    files: int
    columns: list[str]
    time_columns: list[str]  # the columns whose first values look like dates or times


@dataclass(frozen=True, slots=True)
class Setup:
    """What the operator chose on the page."""

    corpus: Path
    time_column: str
    by: str  # month | quarter | year
    champion: str | None  # a model reference; None: the most recently activated model
    challengers: tuple[str | Path, ...] = ()  # installed "ID@V", or the path of a bundle file
    timezone: str | None = None  # IANA zone offset / Z times are converted to; None: as written
    segments: tuple[str, ...] = ()  # category inputs to break the champion's metrics down by


@dataclass(frozen=True, slots=True)
class PastRun:
    """One back-test of the history, with its stored result (shown again on request)."""

    id: int
    at: str
    user: str
    report: str
    result: BacktestResult


@dataclass(frozen=True, slots=True)
class Outcome:
    result: BacktestResult
    run_id: int | None  # the history row; None for a past run shown again
    history: list[PastRun] = field(default_factory=list)


# -- the corpus ------------------------------------------------------------------------------
def _looks_like_time(values: list[str]) -> bool:
    values = [v.strip() for v in values if v and v.strip()]
    return bool(values) and sum(bool(_TIME.match(v)) for v in values) >= 0.9 * len(values)


def _csv_sample(path: Path) -> list[list[str]]:
    """The first data rows (a partial last line is dropped; a bad sample only means no guess)."""
    source = open_csv(path)
    with path.open("rb") as fh:
        fh.seek(source.data_offset)
        text = fh.read(SNIFF_BYTES).decode("utf-8", errors="replace")
    lines = text.splitlines()[:SNIFF_ROWS] if len(text) < SNIFF_BYTES else \
        text.splitlines()[:-1][:SNIFF_ROWS]
    try:
        return list(csv.reader(io.StringIO("\n".join(lines)), delimiter=source.delimiter))
    except csv.Error:
        return []


def _parquet_times(path: Path) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path)
        batch = next(file.iter_batches(batch_size=SNIFF_ROWS), None)
    except (pa.ArrowException, OSError):
        return []
    times = []
    for name, kind in zip(file.schema_arrow.names, file.schema_arrow.types, strict=True):
        if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            times.append(name)
        elif (pa.types.is_string(kind) or pa.types.is_large_string(kind)) and batch is not None:
            values = batch.column(file.schema_arrow.get_field_index(name)).to_pylist()
            if _looks_like_time([v for v in values if v is not None]):
                times.append(name)
    return times


def inspect_corpus(path: Path, *, progress: Progress, cancel: CancelToken) -> CorpusInfo:
    """The columns of the corpus (its first file's, for a folder) and which hold times."""
    files = corpus_files(Path(path))
    first = files[0]
    columns = file_header(first)  # the engine's checks: encoding, binary, empty, ...
    if first.suffix.lower() == ".parquet":
        times = _parquet_times(first)
    else:
        sample = _csv_sample(first)
        times = [name for i, name in enumerate(columns)
                 if _looks_like_time([row[i] for row in sample if i < len(row)])]
    return CorpusInfo(Path(path), len(files), columns, times)


def comparable(workspace: Path, champion: str, specs: list, columns: list[str] | None, *,
               progress: Progress, cancel: CancelToken) -> dict:
    """Each challenger (installed "ID@V" or bundle file) -> None when it can be compared with
    the champion on a corpus with ``columns`` (None: no corpus yet), else why not."""
    from engine.backtest.comparable import check_challengers

    registry = Registry.open(workspace)
    try:
        return check_challengers(registry, champion, list(specs), columns)
    finally:
        registry.close()


# -- running and history ----------------------------------------------------------------------
def _history(db) -> list[PastRun]:
    return [PastRun(r["id"], r["at"], r["user"], r["report"] or "",
                    BacktestResult.from_json(r["result"]))
            for r in list_backtests(db, HISTORY_LIMIT)]


def history(workspace: Path, *, progress: Progress, cancel: CancelToken) -> list[PastRun]:
    """Past back-tests, newest first."""
    registry = Registry.open(workspace)
    try:
        return _history(registry.db)
    finally:
        registry.close()


def run(workspace: Path, setup: Setup, *, progress: Progress, cancel: CancelToken) -> Outcome:
    """Back-test the contenders (bundle files verified, not installed) and store the run with
    its report, as `ratchet backtest` does (engine.services.backtest); a Cancel that arrives
    after the last partition still writes and records nothing."""
    registry = Registry.open(workspace)
    try:
        done = backtest(registry, setup.corpus, setup.time_column, setup.by, setup.champion,
                        list(setup.challengers), timezone=setup.timezone,
                        segments=setup.segments, progress=progress, cancel=cancel)
        return Outcome(done.result, done.run_id, _history(registry.db))
    finally:
        registry.close()


def export_report(result: BacktestResult, path: Path, *, progress: Progress,
                  cancel: CancelToken, workspace: Path | None = None) -> Path:
    """The engine's self-contained HTML report, written atomically, stamped."""
    return write_report(result, path, workspace)
