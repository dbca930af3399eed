"""Back-testing: the champion (and any challengers) over the full history, partitioned by month,
quarter or year; per partition the metrics and pass/fail against the requirements; champion
against each challenger with a paired bootstrap confidence interval per partition and overall.

Scoring reads the corpus once: on this machine its batches are scored in threads (the tree
kernel releases the GIL), on a Dask cluster each worker reads and scores whole files and sends
back only partition, outcome and predictions. The evaluation is the same code either way, and
runs partitions in parallel threads (joblib) with progress per partition and Cancel between
them.
"""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np

from engine.backtest.corpus import BLOCK_BYTES, Needed, check_file, corpus_files
from engine.backtest.evaluate import Contender, compared_metrics, evaluate
from engine.backtest.multivariate import errors_hook, partition_drift
from engine.backtest.partitions import check_period, check_timezone, partition_keys
from engine.backtest.result import BacktestResult, RequirementLine
from engine.backtest.score import Scored, Task, batches_of, concat, score_file
from engine.backtest.segments import backtest_segments, check_segment_column, segment_summary
from engine.backtest.words import summary_lines
from engine.errors import InputError
from engine.formats.segments import segment_columns
from engine.progress import CancelToken, Progress, no_progress

__all__ = ["BacktestResult", "Contender", "partition_keys", "run_backtest"]
SCORING_SHARE = 0.6  # of the progress bar
JOBS = min(4, os.cpu_count() or 1)  # threads: scoring batches, then partitions


def _task(models: list[Contender], time_column: str, by: str,
          timezone: str | None = None) -> Task:
    champion = models[0].model
    if not champion.target:
        raise InputError(f"{models[0].label} does not name its outcome column (target), so "
                         "there is nothing to score it against.", "E_NO_TARGET")
    labels = [c.label for c in models]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise InputError(f"{', '.join(twice)} is given more than once; each model takes part "
                         "once (the champion is not also a challenger).", "E_USAGE")
    for c in models[1:]:
        m = c.model
        if (m.task, m.classes, m.target) != (champion.task, champion.classes, champion.target):
            raise InputError(
                f"{c.label} cannot be compared with {models[0].label}: it predicts "
                f"{m.target!r} ({m.task}, classes {m.classes}), the champion {champion.target!r}"
                f" ({champion.task}, classes {champion.classes}).", "E_INCOMPATIBLE")
    features = tuple(dict.fromkeys(f for c in models for f in c.model.feature_names))
    return Task(champion.task, champion.classes, Needed(features, champion.target,
                                                        time_column), by, timezone)


def _score_locally(files: list[Path], task: Task, models: list[Contender], n_jobs: int,
                   progress: Progress, cancel: CancelToken | None, extra=None) -> Scored:
    expected = sum(batches_of(f.stat().st_size, BLOCK_BYTES) for f in files)
    seen = {"batches": 0, "rows": 0}
    lock = threading.Lock()

    def on_batch(rows: int) -> None:  # called from the scoring threads
        with lock:
            seen["batches"] += 1
            seen["rows"] += rows
            progress(SCORING_SHARE * min(1.0, seen["batches"] / expected),
                     f"Scored {seen['rows']:,} rows")

    parts = [score_file(f, task, [(c.label, c.model) for c in models], n_jobs, cancel,
                        on_batch, extra) for f in files]
    return concat(parts, [c.label for c in models])


def _check_scored(scored: Scored, corpus: str, task: Task) -> None:
    if scored.rows == 0:
        raise InputError(f"the corpus {corpus} has no data rows.", "E_NO_ROWS")
    if "" in scored.keys and np.all(scored.key_code == scored.keys.index("")):
        shown = ", ".join(repr(e) for e in scored.untimed_examples) or "empty cells"
        raise InputError(f"the time column {task.needed.time!r} of {corpus} holds no date "
                         f"Ratchet can read (e.g. {shown}); give ISO 8601 dates such as "
                         "2013-07-15 or 2013-07-15T10:00:00Z, or choose another "
                         "--time-column.", "E_NO_TIMES")
    if not scored.labelled.any():
        raise InputError(f"the outcome column {task.needed.label!r} of {corpus} is empty in "
                         "every row, so no metric can be computed; back-test on rows whose "
                         "outcome is known.", "E_NO_LABELS")


def run_backtest(corpus: str | Path, time_column: str, by: str, champion: Contender,
                 challengers: list[Contender] = (), progress: Progress = no_progress,
                 cancel: CancelToken | None = None, n_jobs: int = JOBS, bootstrap: int = 200,
                 seed: int = 0, dask: str | None = None,
                 connect_timeout: float = 3.0, timezone: str | None = None,
                 segments: list[str] | tuple[str, ...] = ()) -> BacktestResult:
    """Back-test `champion` (and `challengers`) on every CSV / Parquet file of `corpus`.

    `dask`: the address of a running Dask scheduler (e.g. "tcp://host:8786") whose workers can
    read the corpus files at the same paths; the numbers are the same as without it.
    `timezone`: an IANA name; times written with an offset or Z are converted to it before
    their month / quarter / year is taken (None: every time counts as written).
    `segments`: category inputs of the champion to break its metrics down by
    (engine.backtest.segments; requirements that apply to "segment" add theirs).
    """
    check_period(by)
    check_timezone(timezone)
    seg_columns = segment_columns(segments, champion.requirements)
    for column in seg_columns:
        check_segment_column(champion.model, column, champion.label)
    everywhere = [replace(c, requirements=[r for r in c.requirements if r.applies != "segment"])
                  for c in (champion, *challengers)]  # segment bounds: checked per segment
    models = [champion, *challengers]
    task = _task(models, time_column, by, timezone)
    files = corpus_files(corpus)
    for f in files:
        check_file(f, task.needed, champion.label)
    progress(0.0, "Reading and scoring the corpus")
    if dask:
        from engine.backtest.on_dask import connect, score_on_dask

        client = connect(dask, connect_timeout)
        try:
            scored = score_on_dask(client, files, task, models, progress, cancel,
                                   SCORING_SHARE)
        finally:
            client.close()
    else:
        # the champion's multivariate drift errors: computed from the batches as they are scored
        extra = errors_hook(champion.model, champion.reference)[1]
        scored = _score_locally(files, task, models, n_jobs, progress, cancel, extra)
    _check_scored(scored, str(corpus), task)
    partitions, overall, comparisons = evaluate(scored, everywhere, progress, cancel, n_jobs,
                                                bootstrap, seed, SCORING_SHARE)
    tables = backtest_segments(files, scored, champion, seg_columns, bootstrap, seed,
                               champion.requirements)
    multivariate = partition_drift(files, task.needed, scored, champion.model,
                                   champion.reference, cancel)
    metric = compared_metrics(champion)[0]
    verdict = {ch.label: next((c.outcome for c in comparisons if c.partition == "overall"
                               and c.challenger == ch.label and c.metric == metric),
                              "no clear difference") for ch in challengers}
    untimed_code = scored.keys.index("") if "" in scored.keys else -1
    labelled = scored.labelled
    result = BacktestResult(
        partitions, comparisons, verdict, scored.rows, int((~labelled).sum()),
        int((labelled & (scored.key_code == untimed_code)).sum()), champion.label,
        [c.label for c in challengers],
        all(p.passed for p in partitions if p.model == champion.label)
        and not any(t.held and t.missed for t in tables), str(corpus),
        time_column, by, metric, bootstrap,
        [RequirementLine(c.label, r.metric, r.bound_name, r.bound, r.applies)
         for c in models for r in c.requirements], overall, timezone=timezone,
        segments=tables, multivariate=multivariate)
    return replace(result, summary=summary_lines(result) + segment_summary(tables))
