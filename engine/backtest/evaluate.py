"""From scored rows to results: per partition and model every metric of the task and the
requirements' verdict; champion against each challenger with a paired bootstrap per partition
and overall (the mean of the per-partition differences weighted by their rows, from the same
draws, i.e. a bootstrap stratified by partition). The same code serves the local and the Dask
paths."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed

from engine.backtest.resample import (
    CELLS_PER_BLOCK,
    prepare,
    resample_counts,
    resampled_values,
    weighted_values,
)
from engine.backtest.result import Comparison, PartitionResult
from engine.backtest.score import ModelOutput, Scored
from engine.errors import EngineError
from engine.formats.requirements import Requirement
from engine.metrics import GREATER_IS_BETTER, METRICS
from engine.model import Model
from engine.model.scoring import metric_value
from engine.progress import CancelToken, Progress, no_progress


@dataclass(frozen=True, slots=True)
class Contender:
    label: str  # "ID@V"
    model: Model
    requirements: list[Requirement]
    coefficients: bytes | None = None  # the coefficient file, for workers that load it
    reference: bytes | None = None  # the bundle's regression_cases.csv (multivariate drift)


def metrics_for(task: str) -> list[str]:
    return [m for m, need in METRICS.items() if (task == "regression") == (need == "values")]


def compared_metrics(champion: Contender) -> list[str]:
    """The metrics champion and challengers are compared on: those the champion's
    requirements name (the first decides the verdict), else roc_auc or rmse."""
    named = list(dict.fromkeys(r.metric for r in champion.requirements))
    return named or (["rmse"] if champion.model.task == "regression" else ["roc_auc"])


def _sides(model: Model, y, out: ModelOutput, rows: np.ndarray):
    """The outcomes, predictions (as the model's labels) and probabilities of `rows`."""
    classes = None if model.task == "regression" else np.asarray(model.classes)
    yy, pred = y[rows], out.prediction[rows]
    if classes is not None:
        yy, pred = classes[yy], classes[pred]
    return yy, pred, None if out.proba is None else out.proba[rows]


def _metric(metric: str, model: Model, sides) -> float:
    try:
        return metric_value(metric, model, *sides)
    except EngineError:  # undefined here (no rows, one class only): no value, not a pass
        return math.nan


def judge(metrics: dict, reqs: list[Requirement]) -> list[str]:
    """Requirements that apply per partition, or else all of them, against the metrics."""
    scoped = [r for r in reqs if r.applies == "partition"] or reqs
    missed = []
    for r in scoped:
        value = metrics.get(r.metric, math.nan)
        if r.met_by(value):
            continue
        # unmeasurable (no rows, or one class only): it cannot be shown to meet the bound
        missed.append(f"{r.metric} {value:.4g} misses {r.bound_name} {r.bound:g}"
                      if math.isfinite(value) else
                      f"{r.metric} cannot be measured here (one class only, or no rows), so "
                      f"{r.bound_name} {r.bound:g} is not shown to be met")
    return missed


def outcome(metric: str, low: float, high: float) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return "no clear difference"
    better_low, better_high = (low, high) if GREATER_IS_BETTER[metric] else (-high, -low)
    if better_low > 0:
        return "better"
    if better_high < 0:
        return "worse"
    return "no clear difference"


def _interval(draws: np.ndarray) -> tuple[float, float]:
    draws = draws[np.isfinite(draws)]
    if not draws.size:
        return math.nan, math.nan
    low, high = np.percentile(draws, [2.5, 97.5])
    return float(low), float(high)


def paired_draws(metric: str, a: Contender, b: Contender, y: np.ndarray, out_a: ModelOutput,
                 out_b: ModelOutput, rows: np.ndarray, rng: np.random.Generator,
                 draws: int) -> np.ndarray:
    """challenger - champion on each of `draws` resamples of `rows` (the same for both)."""
    n = len(rows)
    if n == 0 or draws == 0:
        return np.full(draws, math.nan)
    if metric == "roc_auc" and out_a.proba is not None and out_a.proba.shape[1] == 2:
        # The champion's walk in score order then reads the counts in sequence (faster; the
        # draws are exchangeable, so which row gets which count does not matter).
        rows = rows[np.argsort(-out_a.proba[rows, 1], kind="stable")]
    sides = []
    for c, out in ((a, out_a), (b, out_b)):
        yy, pred = y[rows], out.prediction[rows]
        proba = None if out.proba is None else out.proba[rows]
        sides.append((c, yy, pred, proba, prepare(metric, c.model.task, yy, pred, proba)))
    result = []
    block = max(1, CELLS_PER_BLOCK // n)
    for start in range(0, draws, block):
        counts = resample_counts(rng, n, min(block, draws - start))
        values = [weighted_values(prep, counts, yy, pred) if prep is not None
                  else resampled_values(metric, c.model, yy, pred, proba, counts)
                  for c, yy, pred, proba, prep in sides]
        result.append(values[1] - values[0])
    return np.concatenate(result)


def _partition(key: str, rows: np.ndarray, scored: Scored, models: list[Contender],
               metrics: list[str], compared: list[str], draws: int, seed: int,
               cancel: CancelToken | None):
    if cancel is not None:
        cancel.check()
    results = []
    for c in models:
        out = scored.outputs[c.label]
        ok = rows[~out.rejected[rows]]
        sides = _sides(c.model, scored.y, out, ok)
        values = {m: _metric(m, c.model, sides) for m in metrics}
        failures = judge(values, c.requirements)
        results.append(PartitionResult(key, c.label, len(ok), values, not failures, failures,
                                       len(rows) - len(ok)))
    champion, challengers = models[0], models[1:]
    comparisons, all_draws = [], {}
    base = scored.outputs[champion.label]
    for j, ch in enumerate(challengers):
        other = scored.outputs[ch.label]
        both = rows[~base.rejected[rows] & ~other.rejected[rows]]
        rng_seed = [seed, zlib.crc32(key.encode("utf-8")), j]
        for i, metric in enumerate(compared):
            rng = np.random.default_rng([*rng_seed, i])
            d = paired_draws(metric, champion, ch, scored.y, base, other, both, rng, draws)
            same = len(both) == results[0].rows == results[j + 1].rows  # no row rejected
            va = results[0].metrics[metric] if same and metric in results[0].metrics \
                else _metric(metric, champion.model, _sides(champion.model, scored.y, base,
                                                             both))
            vb = results[j + 1].metrics[metric] if same and metric in results[j + 1].metrics \
                else _metric(metric, ch.model, _sides(ch.model, scored.y, other, both))
            low, high = _interval(d)
            comparisons.append(Comparison(key, champion.label, ch.label, metric, vb - va, low,
                                          high, va, vb, len(both), outcome(metric, low, high)))
            all_draws[ch.label, metric] = d
    return results, comparisons, all_draws


def overall_comparisons(comparisons: list[Comparison], draws: dict) -> list[Comparison]:
    """Per challenger and metric: the mean of the per-partition differences weighted by each
    partition's rows (those both models scored), and its interval from the same weighted mean
    of each draw across partitions (partitions without a value left out). Weighting by rows
    makes this a stratified bootstrap of the whole corpus: an unweighted mean would let a
    partition of a few dozen rows, with its wide interval, count as much as one of thousands
    and decide the verdict alone."""
    out = []
    for (label, metric) in dict.fromkeys((c.challenger, c.metric) for c in comparisons):
        mine = [c for c in comparisons if c.challenger == label and c.metric == metric
                and c.difference is not None and math.isfinite(c.difference) and c.rows > 0]
        if not mine:
            continue
        weights = np.array([c.rows for c in mine], dtype=float)
        weights /= weights.sum()
        stacked = weights @ np.array([draws[c.partition][label, metric] for c in mine])
        low, high = _interval(stacked)
        difference, champion_value, challenger_value = (float(v) for v in weights @ np.array(
            [(c.difference, c.champion_value, c.challenger_value) for c in mine]))
        out.append(Comparison("overall", mine[0].champion, label, metric, difference, low, high,
                              champion_value, challenger_value, sum(c.rows for c in mine),
                              outcome(metric, low, high)))
    return out


def evaluate(scored: Scored, models: list[Contender], progress: Progress = no_progress,
             cancel: CancelToken | None = None, n_jobs: int = 2, draws: int = 200,
             seed: int = 0, start: float = 0.0):
    """(per-partition results, pooled results, comparisons incl. "overall")."""
    task = models[0].model.task
    metrics, compared = metrics_for(task), compared_metrics(models[0])
    used = scored.labelled.copy()
    if "" in scored.keys:
        used &= scored.key_code != scored.keys.index("")
    rows = np.flatnonzero(used)
    order = rows[np.argsort(scored.key_code[rows], kind="stable")]
    bounds = np.searchsorted(scored.key_code[order], np.arange(len(scored.keys) + 1))
    jobs = [(key, order[bounds[i]:bounds[i + 1]]) for i, key in enumerate(scored.keys)
            if key and bounds[i + 1] > bounds[i]]
    # The pooled rows first: the biggest job, so it does not finish last alone.
    work = [delayed(_partition)("overall", order, scored, models, metrics, [], 0, seed, cancel)]
    work += [delayed(_partition)(key, part, scored, models, metrics, compared, draws, seed,
                                 cancel) for key, part in jobs]
    done = {}
    with Parallel(n_jobs=n_jobs, backend="threading",
                  return_as="generator_unordered") as parallel:
        for i, item in enumerate(parallel(work)):
            key = item[0][0].partition if item[0] else "overall"
            done[key] = item
            progress(start + (1 - start) * (i + 1) / len(work),
                     f"{key} done ({i + 1} of {len(work)})")
    partitions = [r for key, _ in jobs for r in done[key][0]]
    comparisons = [c for key, _ in jobs for c in done[key][1]]
    draws_by_key = {key: done[key][2] for key, _ in jobs}
    return (partitions, done["overall"][0],
            comparisons + overall_comparisons(comparisons, draws_by_key))
