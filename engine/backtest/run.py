"""Back-testing: the champion (and any challengers) over the full history, partitioned by month,
quarter or year; per partition the metrics and pass/fail against the requirements; champion
against each challenger with a paired bootstrap confidence interval per partition and overall.

Each model scores the whole corpus once (the predictor is vectorized); partitions are then
evaluated in parallel threads (joblib), with progress per partition and Cancel between them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from engine.backtest.corpus import column_values, read_corpus
from engine.errors import EngineError, InputError
from engine.metrics import GREATER_IS_BETTER, METRICS
from engine.model import Model
from engine.progress import CancelToken, Progress, no_progress
from engine.regression.requirements import Requirement
from engine.regression.scoring import metric_value, true_labels

PERIODS = {"month": "M", "quarter": "Q", "year": "Y"}


@dataclass(frozen=True, slots=True)
class Contender:
    label: str
    model: Model
    requirements: list[Requirement]


@dataclass(frozen=True, slots=True)
class PartitionResult:
    partition: str
    model: str
    rows: int
    metrics: dict[str, float | None]
    passed: bool
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Comparison:
    partition: str  # a partition key, or "overall"
    champion: str
    challenger: str
    metric: str
    difference: float | None  # challenger - champion (better when positive, for min-metrics)
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True, slots=True)
class BacktestResult:
    partitions: list[PartitionResult]
    comparisons: list[Comparison]
    verdict: dict[str, str]  # challenger label -> "better" | "worse" | "no clear difference"
    rows: int
    unlabelled: int
    untimed: int

    def to_json(self) -> dict:
        def clean(d: dict) -> dict:
            return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                    for k, v in d.items()}

        return {"partitions": [{**clean(asdict(p)), "metrics": clean(p.metrics)}
                               for p in self.partitions],
                "comparisons": [clean(asdict(c)) for c in self.comparisons],
                "verdict": self.verdict, "rows": self.rows, "unlabelled": self.unlabelled,
                "untimed": self.untimed}


def partition_keys(times: np.ndarray, by: str) -> np.ndarray:
    if by not in PERIODS:
        raise InputError(f"--by must be one of {', '.join(PERIODS)}, not {by!r}.", "E_USAGE")
    parsed = pd.to_datetime(pd.Series(times), utc=True, errors="coerce", format="ISO8601")
    keys = parsed.dt.tz_localize(None).dt.to_period(PERIODS[by]).astype(str)
    keys[parsed.isna()] = ""
    if by == "quarter":
        keys = keys.str.replace(r"^(\d{4})Q", r"\1-Q", regex=True)
    return keys.to_numpy(dtype=object)


def _metrics_for(task: str) -> list[str]:
    return [m for m, need in METRICS.items() if (task == "regression") == (need == "values")]


def _value(metric: str, contender: Contender, y, pred, proba) -> float:
    try:
        return metric_value(metric, contender.model, y, pred, proba)
    except EngineError:  # undefined here (e.g. no rows, one class only): no value
        return math.nan


def _judge(metrics: dict, reqs: list[Requirement]) -> list[str]:
    scoped = [r for r in reqs if r.applies == "partition"] or reqs
    return [f"{r.metric} {metrics.get(r.metric, math.nan):.4g} misses {r.bound_name} {r.bound:g}"
            for r in scoped if not r.met_by(metrics.get(r.metric, math.nan))]


def _bootstrap(metric: str, a: Contender, b: Contender, y, out_a, out_b, rng, n: int):
    """challenger - champion on the same resampled rows: the difference and a 95% interval."""
    def value(c, out, idx):
        pred, proba = out
        return _value(metric, c, y[idx], pred[idx], None if proba is None else proba[idx])

    everything = np.arange(len(y))
    diff = value(b, out_b, everything) - value(a, out_a, everything)
    draws = []
    for _ in range(n):
        idx = rng.integers(0, len(y), len(y))
        draws.append(value(b, out_b, idx) - value(a, out_a, idx))
    draws = np.asarray(draws)
    draws = draws[np.isfinite(draws)]
    if not draws.size or not math.isfinite(diff):
        return math.nan, math.nan, math.nan
    low, high = np.percentile(draws, [2.5, 97.5])
    return float(diff), float(low), float(high)


def run_backtest(corpus: str, time_column: str, by: str, champion: Contender,
                 challengers: list[Contender] = (), progress: Progress = no_progress,
                 cancel: CancelToken | None = None, n_jobs: int = 2, bootstrap: int = 200,
                 seed: int = 0) -> BacktestResult:
    models = [champion, *challengers]
    target = champion.model.target
    if not target:
        raise InputError(f"{champion.label} does not name its label column (target).",
                         "E_NO_TARGET")
    needed = sorted({n for c in models for n in c.model.feature_names} | {target, time_column})
    progress(0.0, "Reading the corpus")
    table = read_corpus(corpus, needed).table
    labels = column_values(table, target)
    keys = partition_keys(column_values(table, time_column), by)
    labelled = labels != None  # noqa: E711 - elementwise
    timed = keys != ""
    use = labelled & timed
    outputs = {}
    for i, c in enumerate(models):
        if cancel is not None:
            cancel.check()
        progress(0.05 + 0.45 * i / len(models), f"Scoring with {c.label}")
        result = c.model.predict({n: column_values(table, n) for n in c.model.feature_names})
        ok = use & ~result.rejected
        outputs[c.label] = (ok, result.prediction, result.proba)
    y_all = true_labels(labels[use], np.flatnonzero(use) + 1, champion.model,
                        f"the corpus column {target!r}")
    y = np.empty(len(labels), dtype=y_all.dtype)
    y[use] = y_all
    parts = sorted(set(keys[use]))
    metric_names = _metrics_for(champion.model.task)
    primary = (champion.requirements[0].metric if champion.requirements
               else ("roc_auc" if champion.model.task != "regression" else "rmse"))

    def evaluate(part: str):
        if cancel is not None:
            cancel.check()
        in_part = use & (keys == part)
        rows_out, comps = [], []
        for c in models:
            ok, pred, proba = outputs[c.label]
            sel = in_part & ok
            metrics = {m: _value(m, c, y[sel], pred[sel],
                                 None if proba is None else proba[sel]) for m in metric_names}
            failures = _judge(metrics, c.requirements)
            rows_out.append(PartitionResult(part, c.label, int(sel.sum()), metrics,
                                            not failures, failures))
        rng = np.random.default_rng(seed)
        for ch in challengers:
            both = in_part & outputs[champion.label][0] & outputs[ch.label][0]
            outs = [(o[1][both], None if o[2] is None else o[2][both])
                    for o in (outputs[champion.label], outputs[ch.label])]
            d, lo, hi = _bootstrap(primary, champion, ch, y[both], outs[0], outs[1], rng,
                                   bootstrap)
            comps.append(Comparison(part, champion.label, ch.label, primary, d, lo, hi))
        return rows_out, comps

    done = []
    with Parallel(n_jobs=n_jobs, backend="threading", return_as="generator") as parallel:
        for i, item in enumerate(parallel(delayed(evaluate)(p) for p in parts)):
            done.append(item)
            progress(0.5 + 0.5 * (i + 1) / max(1, len(parts)), f"{i + 1} of {len(parts)} "
                     "partitions done")
    partitions = [r for rows_out, _ in done for r in rows_out]
    comparisons = [c for _, comps in done for c in comps]
    verdict = {}
    sign = 1 if GREATER_IS_BETTER[primary] else -1
    for ch in challengers:
        lows = [sign * (c.ci_low if sign > 0 else c.ci_high) for c in comparisons
                if c.challenger == ch.label and c.ci_low is not None and math.isfinite(c.ci_low)]
        highs = [sign * (c.ci_high if sign > 0 else c.ci_low) for c in comparisons
                 if c.challenger == ch.label and c.ci_high is not None
                 and math.isfinite(c.ci_high)]
        if lows and all(v > 0 for v in lows):
            verdict[ch.label] = "better"
        elif highs and all(v < 0 for v in highs):
            verdict[ch.label] = "worse"
        else:
            verdict[ch.label] = "no clear difference"
    return BacktestResult(partitions, comparisons, verdict, len(labels),
                          int((~labelled).sum()), int((labelled & ~timed).sum()))
