"""The bootstrap, fast and exact: a resample is a count per row, and a metric of the resampled
rows is the same metric with those counts as weights.

Drawing n rows with replacement is the same as giving row i the weight c_i = how many times it
was drawn (c ~ Multinomial(n, 1/n)). So each draw is a vector of integer counts, and:

- roc_auc: rows are sorted by score once; per draw, the counts of positives and negatives are
  added up per distinct score in that order and the trapezoids summed in integers, exactly as
  engine.metrics (and scikit-learn's roc_auc_score with sample_weight=counts) computes it on
  the resampled rows; the integer area is divided once, so the value is identical;
- accuracy, precision, recall, f1, false_positive_rate: integer sums of the counts (exact);
- log_loss, brier, mae, rmse, mape, r2: count-weighted sums of per-row terms (equal to the
  resampled value up to the order of floating-point additions).

`resampled_values` is the slow reference (the metric on the expanded rows); tests hold the two
paths equal on the same draws. The counts come from numpy's PCG64 stream, mapped to row
indices without bias (Lemire's multiply-and-reject on 32-bit halves) and counted in one
compiled pass, without materializing the indices (the kernels: resample_kernels.py).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.errors import EngineError
from engine.metrics import METRICS
from engine.model import Model, aot
from engine.model.scoring import metric_value

CELLS_PER_BLOCK = 1 << 18  # draws x rows held at once: 1 MB of int32 counts, in cache
_LOW = np.uint64(0xFFFFFFFF)


# The two kernels (engine/backtest/resample_kernels.py), compiled ahead of time into
# engine/backtest/_resample_aot by installer/kernels.py (`make setup`, the installer): a
# back-test then neither compiles them (1.2-1.5 s with an empty numba cache here) nor loads
# numba (issue 16). numba's build of the same source stands in where the module is missing or
# stale or the arguments are not of its types, with the same integers (tests/engine/
# test_resample_records_aot.py); importing the back-test loads neither.
I4, I8 = np.int32, np.int64
KERNELS = aot.Kernels(
    "engine.backtest._resample_aot", "engine.backtest.resample_kernels",
    spec={"fill_counts": ((np.uint32, 1, False), int, (I4, 2, True), int),
          "auc_parts": ((I4, 2, False), (I4, 1, False), (np.bool_, 1, False),
                        (np.bool_, 1, False))},
    results={"fill_counts": int, "auc_parts": (I8, 2)})


def _run(name: str, *args):
    return KERNELS.function(name, args)(*args)


def resample_counts(rng: np.random.Generator, n: int, draws: int) -> np.ndarray:
    """`draws` resamples of n rows with replacement, as counts per row (draws x n int32)."""
    if not 0 < n < 1 << 31:
        raise ValueError(f"cannot resample {n} rows")
    counts = np.zeros((draws, n), dtype=np.int32)
    total, pos = draws * n, 0
    while pos < total:
        words = (total - pos) // 2 + 64 + (total - pos) * n // (1 << 31)
        pos = _run("fill_counts", _halves(rng.bit_generator.random_raw(words)), int(n), counts,
                   pos)
    return counts


def _halves(words: np.ndarray) -> np.ndarray:
    """64-bit words as their 32-bit halves, the low one first (a view where the machine is
    little-endian, as every platform the app ships for)."""
    halves = words.view(np.uint32)
    return halves if sys.byteorder == "little" else halves.reshape(-1, 2)[:, ::-1].ravel()


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """engine.metrics' rule: 0.0 where the denominator is 0 (as scikit-learn)."""
    zero = den == 0
    return np.where(zero, 0.0, num / np.where(zero, 1.0, den))


@dataclass(frozen=True, slots=True)
class Prepared:
    """Per-row terms of a metric (columns of `terms`) and how sums of them make its value;
    or the sorted orders of roc_auc."""

    terms: np.ndarray | None
    finish: Callable[[np.ndarray, np.ndarray], np.ndarray] | None
    auc: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None


def _auc_order(is_pos: np.ndarray, score: np.ndarray):
    order = np.argsort(-score, kind="stable")
    s = score[order]
    group_end = np.r_[s[1:] != s[:-1], True]
    return order.astype(np.int32), is_pos[order], group_end


def _label_terms(metric: str, y: np.ndarray, yp: np.ndarray, k: int):
    if metric == "accuracy":
        return np.c_[y == yp], lambda s, n: s[:, 0] / n
    if metric == "false_positive_rate":
        return np.c_[(yp == 1) & (y != 1), y != 1], lambda s, n: _ratio(s[:, 0], s[:, 1])
    labels = [1] if k == 2 else list(range(k))
    terms = np.column_stack([v for c in labels
                             for v in ((y == c) & (yp == c), yp == c, y == c)])

    def finish(s, n):
        tp, pred, true = s[:, 0::3], s[:, 1::3], s[:, 2::3]
        if metric == "precision":
            scores = _ratio(tp, pred)
        elif metric == "recall":
            scores = _ratio(tp, true)
        else:
            scores = _ratio(2.0 * tp, 1.0 * true + pred)
        return np.mean(scores, axis=1)
    return terms, finish


def _value_terms(metric: str, t: np.ndarray, p: np.ndarray):
    eps = float(np.finfo(np.float64).eps)
    if metric == "mae":
        return np.c_[np.abs(p - t)], lambda s, n: s[:, 0] / n
    if metric == "rmse":
        return np.c_[(t - p) ** 2], lambda s, n: np.sqrt(s[:, 0] / n)
    if metric == "mape":
        return np.c_[np.abs(p - t) / np.maximum(np.abs(t), eps)], lambda s, n: s[:, 0] / n
    return None, None  # r2: centred on each draw's own mean (see _r2_values)


def prepare(metric: str, task: str, y: np.ndarray, prediction: np.ndarray,
            proba: np.ndarray | None) -> Prepared | None:
    """What the fast path needs; None where only the slow path applies."""
    kind = METRICS[metric]
    if task == "regression":
        terms, finish = _value_terms(metric, y.astype(np.float64), prediction)
        return Prepared(terms, finish) if terms is not None or metric == "r2" else None
    k = proba.shape[1]
    if kind == "labels":
        if metric == "false_positive_rate" and k != 2:
            return None
        terms, finish = _label_terms(metric, y, prediction, k)
        return Prepared(terms.astype(np.float64), finish)
    if metric == "roc_auc":
        if k > 2 and not np.allclose(1, proba.sum(axis=1)):
            return None
        classes = [1] if k == 2 else range(k)
        return Prepared(None, None, [_auc_order(y == c, proba[:, c]) for c in classes])
    rows = np.arange(len(y))
    if metric == "log_loss":
        eps = float(np.finfo(np.float64).eps)
        loss = -np.log(np.clip(proba, eps, 1 - eps)[rows, y])
        return Prepared(np.c_[loss], lambda s, n: s[:, 0] / n)
    onehot = np.zeros_like(proba)
    onehot[rows, y] = 1.0
    half = 0.5 if k == 2 else 1.0
    return Prepared(np.c_[np.sum((onehot - proba) ** 2, axis=1)],
                    lambda s, n: s[:, 0] / n * half)


def _auc_values(prep: Prepared, counts: np.ndarray) -> np.ndarray:
    per_class = []
    for order, positive, group_end in prep.auc:
        parts = _run("auc_parts", counts, order, positive, group_end)
        # Python integers: the one division is correctly rounded, as in engine.metrics.
        per_class.append([int(a) / (2 * int(p) * int(q)) if p and q else math.nan
                          for a, p, q in parts])
    return np.mean(np.array(per_class), axis=0)


def _r2_values(t: np.ndarray, p: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    if n < 2:
        return np.full(len(weights), math.nan)
    num = weights @ ((t - p) ** 2)
    mean = (weights @ t) / n
    den = np.sum(weights * (t[None, :] - mean[:, None]) ** 2, axis=1)
    return np.where(num == 0, 1.0, np.where(den == 0, 0.0, 1 - num / np.where(den == 0, 1, den)))


def weighted_values(prep: Prepared, counts: np.ndarray, y: np.ndarray | None = None,
                    prediction: np.ndarray | None = None) -> np.ndarray:
    """The metric on each draw of `counts` (draws x rows), by the fast path."""
    n = counts.shape[1]
    if prep.auc is not None:
        return _auc_values(prep, counts)
    weights = counts.astype(np.float64)
    if prep.terms is None:  # r2
        return _r2_values(y.astype(np.float64), prediction, weights, n)
    return prep.finish(weights @ prep.terms, n)


def resampled_values(metric: str, model: Model, y: np.ndarray, prediction: np.ndarray,
                     proba: np.ndarray | None, counts: np.ndarray) -> np.ndarray:
    """The slow reference: the metric computed on the rows of each draw, expanded."""
    classes = None if model.task == "regression" else np.asarray(model.classes)
    out = []
    for row_counts in counts:
        idx = np.repeat(np.arange(len(row_counts)), row_counts)
        yy = y[idx] if classes is None else classes[y[idx]]
        pp = prediction[idx] if classes is None else classes[prediction[idx]]
        try:
            out.append(metric_value(metric, model, yy, pp, None if proba is None
                                    else proba[idx]))
        except EngineError:
            out.append(math.nan)
    return np.array(out)
