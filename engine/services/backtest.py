"""Back-test: the champion (an installed model) and challengers (installed versions, or bundle
files verified but never installed) over a history partitioned by month, quarter or year; the
HTML report written; the run recorded in the workspace history with it. A cancel that arrives
after the last partition still writes and records nothing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.backtest.contenders import bundle_contender, installed_contender
from engine.backtest.report import render
from engine.backtest.run import BacktestResult, run_backtest
from engine.backtest.store import record_backtest, report_path, report_title
from engine.formats.report_pdf import write_report_file
from engine.progress import CancelToken, Progress, no_progress


@dataclass(frozen=True, slots=True)
class BacktestRun:
    result: BacktestResult
    run_id: int
    report: Path


def backtest(registry, corpus: str | Path, time_column: str, by: str,
             champion: str | None = None, challengers: list[str | Path] = (), *,
             timezone: str | None = None, report: Path | None = None, dask: str | None = None,
             segments: list[str] | tuple[str, ...] = (), progress: Progress = no_progress,
             cancel: CancelToken | None = None) -> BacktestRun:
    """``champion``: a model reference (None: the active model whose inputs the
    corpus covers); each challenger an installed
    "ID@V" (a str) or a bundle file (a Path). ``report``: where the HTML report goes (default:
    the workspace's reports folder). ``segments``: category inputs of the champion to break
    its metrics down by (engine.backtest.segments)."""
    progress(0.0, "Preparing the models")
    if champion is None:
        champion = champion_for_corpus(registry, corpus)
    contenders = [installed_contender(registry, champion)]
    for choice in challengers:
        _check(cancel)
        contenders.append(bundle_contender(registry, choice) if isinstance(choice, Path)
                          else installed_contender(registry, choice))
    result = run_backtest(corpus, time_column, by, contenders[0], contenders[1:],
                          progress=progress, cancel=cancel, dask=dask, timezone=timezone,
                          segments=segments)
    _check(cancel)
    progress(1.0, "Writing the report")
    report = Path(report) if report is not None else report_path(registry.ws, result.champion)
    write_report(result, report, registry.ws.root)
    run_id = record_backtest(registry.db, result, str(corpus), time_column, by, str(report))
    return BacktestRun(result, run_id, report)


def champion_for_corpus(registry, corpus: str | Path) -> str | None:
    """The champion when none is named: with several active models, the one whose inputs the
    corpus's (first file's) header covers; None for the only active model."""
    from engine.backtest.corpus import corpus_header
    from engine.registry.choice import resolve_for_columns

    count = registry.db.execute("SELECT COUNT(*) FROM active").fetchone()[0]
    if count <= 1:
        return None
    return resolve_for_columns(registry, corpus_header(corpus), f"the corpus {corpus}")


def write_report(result: BacktestResult, path: Path, workspace: Path | None = None) -> Path:
    """The engine's self-contained HTML report (PDF when ``path`` ends in .pdf), written
    atomically."""
    from engine.formats.report_stamp import stamped

    page = stamped(render(result, report_title(result)),
                   [result.champion, *result.challengers], workspace)
    write_report_file(page, Path(path))
    return Path(path)


def _check(cancel: CancelToken | None) -> None:
    if cancel is not None:
        cancel.check()
