"""Segments: every metric per value of one categorical input, with a bootstrap interval, the
requirements each segment misses, ranked worst first (engine.formats.segments holds the
table). The computation is shared by the back-test and the now-test (the services pass the
now-test's rows here); the interval is the back-test's bootstrap (engine.backtest.resample),
one model's resamples of the segment's rows.

Which rows: the top values are ranked by the rows that have a value in scope (scored rows),
the metrics are over the scored rows with an outcome. Which bounds: requirements that apply
to "segment" on this column hold every segment to their minimum (a miss is a failure of the
run); without any, each segment is measured against the bounds that apply to a partition (or
else all), and a miss is shown but decides nothing. A metric that cannot be measured in a
segment (one class only) is no miss.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

from engine.backtest.columns import category_values
from engine.backtest.corpus import Needed, iter_batches
from engine.backtest.evaluate import metrics_for
from engine.backtest.resample import (
    CELLS_PER_BLOCK,
    prepare,
    resample_counts,
    resampled_values,
    weighted_values,
)
from engine.errors import EngineError, InputError
from engine.formats.requirements import Requirement
from engine.formats.segments import MISSING, OTHER, TOP, Segment, SegmentTable
from engine.metrics import GREATER_IS_BETTER
from engine.model import Model
from engine.model.categories import NUMBER
from engine.model.scoring import metric_value


def check_segment_column(model: Model, column: str, label: str) -> None:
    """A segment column is one of the model's category inputs, or an InputError saying why."""
    feature = next((f for f in model.features if f.name == column), None)
    categories = [f.name for f in model.features if f.type != NUMBER]
    offer = (f"; its category inputs are {', '.join(map(repr, categories))}" if categories
             else "; it has no category inputs, so it cannot be segmented")
    if feature is None:
        raise InputError(f"--segment {column!r}: {column!r} is not an input of {label}"
                         f"{offer}. Name one of them.", "E_SEGMENT_COLUMN")
    if feature.type == NUMBER:
        raise InputError(f"--segment {column!r}: {column!r} is a number input of {label}, not "
                         f"a category, so its values make no segments{offer}. Name one of "
                         "them.", "E_SEGMENT_COLUMN")


def corpus_segment_values(files: list[Path], column: str, markers: tuple[str, ...]
                          ) -> np.ndarray:
    """The column's text per row of the corpus, in the order the back-test scored the rows
    (files in order, rows in order); None where empty or a missing-value marker."""
    parts = [category_values(table.column(column), markers)
             for f in files for _, table in iter_batches(f, Needed((), column, column))]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=object)


def segment_codes(values: np.ndarray, scope: np.ndarray, top: int = TOP
                  ) -> tuple[list[str], np.ndarray, int]:
    """(segment names, a code per row into them (-1 outside `scope`), how many values "other"
    pools). The `top` values with the most rows in scope, ties by name; missing is a value."""
    text = np.where(values == None, MISSING, values).astype(str)  # noqa: E711
    counts = Counter(text[scope].tolist())
    ranked = sorted(counts, key=lambda v: (-counts[v], v))
    names, pooled = ranked[:top], len(ranked) - top
    code_of = {v: i for i, v in enumerate(names)}
    if pooled > 0:
        names.append(OTHER)
    other = len(names) - 1 if pooled > 0 else -1
    uniques, inverse = np.unique(text, return_inverse=True)
    mapped = np.array([code_of.get(u, other) for u in uniques.tolist()], dtype=np.int32)
    codes = mapped[inverse] if len(text) else np.zeros(0, np.int32)
    return names, np.where(scope, codes, -1), max(pooled, 0)


def held_requirements(reqs: list[Requirement], column: str) -> tuple[list[Requirement], bool]:
    """(the bounds segments are measured against, whether they hold them: applies "segment")."""
    held = [r for r in reqs if r.applies == "segment" and r.segment == column]
    if held:
        return held, True
    plain = [r for r in reqs if r.applies != "segment"]
    return [r for r in plain if r.applies == "partition"] or plain, False


def headline(model: Model, reqs: list[Requirement]) -> list[str]:
    named = list(dict.fromkeys(r.metric for r in reqs))
    return named or (["rmse"] if model.task == "regression" else ["roc_auc"])


def _value(metric: str, model: Model, y, pred, proba) -> float:
    classes = None if model.task == "regression" else np.asarray(model.classes)
    if classes is not None:
        y, pred = classes[y], classes[pred]
    try:
        return float(metric_value(metric, model, y, pred, proba))
    except EngineError:  # undefined here (no rows, one class only)
        return math.nan


def bootstrap_interval(metric: str, model: Model, y, pred, proba, rng: np.random.Generator,
                       draws: int) -> list[float | None]:
    """The 95% percentile interval of `metric` over `draws` resamples of these rows."""
    n = len(y)
    if n == 0 or draws == 0:
        return [None, None]
    prep = prepare(metric, model.task, y, pred, proba)
    block, values = max(1, CELLS_PER_BLOCK // n), []
    for start in range(0, draws, block):
        counts = resample_counts(rng, n, min(block, draws - start))
        values.append(weighted_values(prep, counts, y, pred) if prep is not None
                      else resampled_values(metric, model, y, pred, proba, counts))
    finite = np.concatenate(values)
    finite = finite[np.isfinite(finite)]
    if not finite.size:
        return [None, None]
    low, high = np.percentile(finite, [2.5, 97.5])
    return [float(low), float(high)]


def _missed(metrics: dict, reqs: list[Requirement]) -> list[str]:
    return [f"{r.metric} {metrics[r.metric]:.4g} misses {r.bound_name} {r.bound:g}"
            for r in reqs if r.metric in metrics and math.isfinite(metrics[r.metric])
            and not r.met_by(metrics[r.metric])]


def rank(segments: list[Segment], metric: str) -> list[Segment]:
    """Worst first: those missing a bound, then those that drifted, then by the metric (worst
    value first; no value last), then by rows."""
    better = GREATER_IS_BETTER.get(metric, True)

    def key(s: Segment):
        v = s.metrics.get(metric)
        badness = math.inf if v is None or not math.isfinite(v) else (v if better else -v)
        return (not s.missed, not s.drifted, -len(s.drifted), badness, -s.rows)
    return sorted(segments, key=key)


def segment_table(column: str, model: Model, values: np.ndarray, y: np.ndarray | None,
                  prediction: np.ndarray, proba: np.ndarray | None, scored: np.ndarray,
                  labelled: np.ndarray, reqs: list[Requirement], draws: int = 200,
                  seed: int = 0, partitions: tuple[list[str], np.ndarray] | None = None,
                  drifted: dict[str, list[str]] | None = None,
                  notes: list[str] = ()) -> SegmentTable:
    """The segments of `column` (`values`: its text per row) over rows `scored` (bool mask)
    and, for metrics, `scored & labelled`. `y` and `prediction` are class indices (numbers for
    regression); `partitions`: (keys, a code per row) for the per-partition line of the
    headline metric; `drifted`: segment -> the inputs that drifted in it."""
    bounds, held = held_requirements(reqs, column)
    metric = headline(model, bounds)[0]
    wanted = headline(model, bounds)
    names, codes, pooled = segment_codes(values, scored)
    with_label = scored & labelled
    out = []
    for i, name in enumerate(names):
        mine = codes == i
        rows = np.flatnonzero(mine & with_label)
        metrics, intervals, by_partition = {}, {}, {}
        if y is not None and rows.size:
            yy, pp = y[rows], prediction[rows]
            pr = None if proba is None else proba[rows]
            metrics = {m: _value(m, model, yy, pp, pr) for m in metrics_for(model.task)}
            for j, m in enumerate(wanted):
                rng = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8")), j])
                intervals[m] = bootstrap_interval(m, model, yy, pp, pr, rng, draws)
            if partitions is not None:
                keys, key_code = partitions
                for k, key in enumerate(keys):
                    part = rows[key_code[rows] == k]
                    if key and part.size:
                        by_partition[key] = _value(metric, model, y[part], prediction[part],
                                                   None if proba is None else proba[part])
        out.append(Segment(name, int(rows.size), metrics, intervals, _missed(metrics, bounds),
                           list((drifted or {}).get(name, [])), by_partition,
                           pooled if name == OTHER else 1, int(mine.sum())))
    return SegmentTable(column, metric, held, rank(out, metric),
                        [[r.metric, r.bound_name, r.bound] for r in bounds], draws,
                        list(notes))


def backtest_segments(files: list[Path], scored, champion, columns: list[str], draws: int,
                      seed: int, reqs: list[Requirement]) -> list[SegmentTable]:
    """The champion's segment tables over the back-test's timed, labelled rows (`scored`: an
    engine.backtest.score.Scored), with the headline metric per partition."""
    model = champion.model
    output = scored.outputs[champion.label]
    timed = np.ones(scored.rows, dtype=bool)
    if "" in scored.keys:
        timed = scored.key_code != scored.keys.index("")
    in_scope = timed & ~output.rejected
    tables = []
    for column in columns:
        values = corpus_segment_values(files, column, model.missing_markers)
        tables.append(segment_table(column, model, values, scored.y, output.prediction,
                                    output.proba, in_scope, scored.labelled, reqs, draws, seed,
                                    (scored.keys, scored.key_code)))
    return tables


def segment_summary(tables: list[SegmentTable]) -> list[str]:
    """One sentence per table: which segments miss a bound, and whether that fails the run."""
    lines = []
    for t in tables:
        missed = t.missed
        if not missed:
            lines.append(f"Every {t.column} segment meets the bounds ({len(t.segments)} "
                         "segments).")
            continue
        names = ", ".join(s.value for s in missed)
        why = ("the requirements hold every segment, so this fails" if t.held else
               "shown for information: no requirement applies to segments")
        lines.append(f"{len(missed)} of {len(t.segments)} {t.column} segments miss a bound "
                     f"({names}); {why}.")
    return lines
