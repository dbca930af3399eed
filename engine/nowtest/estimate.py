"""Label-free performance estimate of a classifier from its own probabilities, as NannyML's
confidence-based performance estimation (CBPE) does.

If the probabilities are calibrated, row i is positive with probability q_i, so every count of
the confusion matrix has a known expectation (E[TP] = sum of q over the rows predicted
positive, ...). Several metrics are then estimated exactly, as expectations:

- accuracy: the mean of q at the predicted class;
- precision: E[TP] / (rows predicted positive), the denominator being known;
- log_loss: the mean cross-entropy -sum_k q_k log p_k (p the model's clipped probabilities);
- brier: the mean of sum_k q_k (1 - p_k)^2 + (1 - q_k) p_k^2 (halved for two classes).

recall, f1 and false_positive_rate divide by a random count (actual positives or negatives) and
are estimated as ratios of expectations, as is roc_auc: the ROC curve of soft labels (rows
sorted by the model's score, descending; cumulative sums of q and 1 - q as expected true and
false positives; ties grouped) and its trapezoid area. Multiclass: the one-vs-rest macro
averages, as `engine.metrics` computes them.

q is the model's probability, or, when the reference rows show that the model is badly
calibrated, the probability after an isotonic map fitted on the reference rows (numpy and
scipy only; scikit-learn is never needed to predict).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.metrics import METRICS

# scipy is imported in the functions that use it: importing the now-test (as the trial gate and
# the app's pages do) must not load scipy.stats, about 1 s (issue 16).

_EPS = float(np.finfo(np.float64).eps)
CALIBRATION_ALPHA = 0.01  # family-wise, over the calibration tests of all classes


# ---------------------------------------------------------------- calibration


@dataclass(frozen=True, slots=True)
class IsotonicMap:
    """A non-decreasing map of [0, 1] fitted by isotonic regression; linear between the fitted
    points and constant beyond the ends (scikit-learn's IsotonicRegression(out_of_bounds=
    "clip") fitted on the same data gives the same map)."""

    x: np.ndarray
    y: np.ndarray

    @classmethod
    def fit(cls, score: np.ndarray, outcome: np.ndarray) -> IsotonicMap:
        order = np.argsort(score, kind="stable")
        s, o = score[order], outcome[order].astype(np.float64)
        xs, start, counts = np.unique(s, return_index=True, return_counts=True)
        means = np.add.reduceat(o, start) / counts
        from scipy.optimize import isotonic_regression

        fitted = isotonic_regression(means, weights=counts.astype(np.float64)).x
        return cls(xs, fitted)

    def __call__(self, score: np.ndarray) -> np.ndarray:
        return np.interp(score, self.x, self.y)


CHECKED = ("accuracy", "roc_auc", "brier")  # one each of decisions, ranking, probabilities
DRAWS = 1000


def _rank_auc(ranks: np.ndarray, hits: np.ndarray) -> np.ndarray:
    """roc_auc of every row of `hits` (draws x rows, True = of the class) at once, by the
    Mann-Whitney rank sum (ties averaged), which is the trapezoid area exactly."""
    pos = hits.sum(axis=1).astype(np.float64)
    neg = hits.shape[1] - pos
    with np.errstate(invalid="ignore", divide="ignore"):
        return (hits @ ranks - pos * (pos + 1) / 2) / (pos * neg)


def simulated_metrics(proba: np.ndarray, class_index: np.ndarray, outcome: np.ndarray,
                      draws: int = DRAWS, seed: int = 0) -> dict[str, tuple[float, np.ndarray]]:
    """For each metric of CHECKED: its actual value on the labelled rows (`outcome`: class
    indices), and its values on `draws` label sets drawn from the model's own probabilities
    (what the metric would be if those probabilities were the true chances)."""
    n, k = proba.shape
    rng = np.random.default_rng(seed)
    if k == 2:
        drawn = (rng.random((draws, n)) < proba[None, :, 1]).astype(np.intp)
    else:
        cumulative = np.cumsum(proba, axis=1)
        cumulative[:, -1] = 1.0
        u = rng.random((draws, n, 1))
        drawn = (u > cumulative[None, :, :]).sum(axis=2)  # draws x rows: class indices
    drawn = np.vstack([outcome[None, :], drawn])  # row 0: the actual labels
    accuracy = (drawn == class_index[None, :]).mean(axis=1)
    columns = [1] if k == 2 else range(k)
    aucs = [_rank_auc(average_ranks(proba[:, c]), drawn == c) for c in columns]
    auc = np.mean(aucs, axis=0)
    brier = np.zeros(draws + 1)
    for c in columns if k == 2 else range(k):  # two classes: on the positive class, as
        brier += ((drawn == c) - proba[None, :, c]) ** 2 @ np.full(n, 1.0 / n)  # metrics
    return {name: (float(v[0]), v[1:]) for name, v in
            (("accuracy", accuracy), ("roc_auc", auc), ("brier", brier))}


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank (scipy.stats.rankdata's "average",
    without importing scipy.stats: about 1 s of a now-test's start, issue 16)."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(values)]
    mean_rank = (starts + ends + 1) / 2.0  # the average of ranks start+1 .. end
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def calibration_tests(proba: np.ndarray, class_index: np.ndarray, outcome: np.ndarray
                      ) -> tuple[float, str]:
    """Whether the label-free estimate can be trusted as it is: on labelled reference rows,
    each metric of CHECKED against its distribution over label sets drawn from the model's
    probabilities (z = (actual - mean) / sd, two-sided normal p-value, Bonferroni over the
    metrics). Returns the smallest adjusted p-value and a sentence about it."""
    worst, detail = 1.0, ""
    for name, (actual, sims) in simulated_metrics(proba, class_index, outcome).items():
        sims = sims[np.isfinite(sims)]
        if not math.isfinite(actual) or sims.size < 2 or np.std(sims) == 0:
            continue
        mean, sd = float(np.mean(sims)), float(np.std(sims))
        z = (actual - mean) / sd
        p = min(1.0, len(CHECKED) * math.erfc(abs(z) / math.sqrt(2.0)))  # 2 x normal sf
        if p < worst or not detail:
            worst = min(worst, p)
            detail = (f"actual {name} {actual:.4f} against {mean:.4f} ± {sd:.4f} expected from "
                      f"the probabilities, z = {z:.1f}")
    return worst, detail


@dataclass(frozen=True, slots=True)
class Calibration:
    """How to turn the model's probabilities into the q of the estimate."""

    maps: tuple[IsotonicMap, ...] | None  # None: the probabilities are used as they are
    p_value: float
    detail: str

    @property
    def recalibrated(self) -> bool:
        return self.maps is not None

    @classmethod
    def check(cls, proba: np.ndarray, class_index: np.ndarray, outcome: np.ndarray
              ) -> Calibration:
        """Test the probabilities on labelled reference rows (`class_index`: the model's
        decisions, `outcome`: the true classes, as indices); fit isotonic maps (one per class;
        two classes: one for the positive class) when the tests reject them."""
        p_value, detail = calibration_tests(proba, class_index, outcome)
        if p_value >= CALIBRATION_ALPHA:
            return cls(None, p_value, detail)
        k = proba.shape[1]
        columns = [1] if k == 2 else range(k)
        maps = tuple(IsotonicMap.fit(proba[:, c], outcome == c) for c in columns)
        return cls(maps, p_value, detail)

    def apply(self, proba: np.ndarray) -> np.ndarray:
        if self.maps is None:
            return proba
        if proba.shape[1] == 2:
            q1 = self.maps[0](proba[:, 1])
            return np.column_stack([1 - q1, q1])
        q = np.column_stack([m(proba[:, c]) for c, m in enumerate(self.maps)])
        total = q.sum(axis=1, keepdims=True)
        even = np.full_like(q, 1.0 / q.shape[1])
        return np.where(total > 0, q / np.where(total > 0, total, 1.0), even)


# ---------------------------------------------------------------- the estimate


def soft_auc(score: np.ndarray, q: np.ndarray) -> float:
    """Expected ROC curve area with soft labels q (see the module docstring)."""
    positives, negatives = float(q.sum()), float((1 - q).sum())
    if positives <= 0 or negatives <= 0:
        return math.nan
    order = np.argsort(-score, kind="stable")
    s = score[order]
    last = np.r_[np.nonzero(np.diff(s))[0], s.size - 1]  # the end of each group of ties
    tpr = np.r_[0.0, np.cumsum(q[order])[last] / positives]
    fpr = np.r_[0.0, np.cumsum(1 - q[order])[last] / negatives]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2)


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else 0.0  # scikit-learn's value where it is ill-defined


def estimate_metrics(proba: np.ndarray, q: np.ndarray, class_index: np.ndarray
                     ) -> dict[str, float]:
    """Estimated metrics of a classifier's outputs: `proba` the model's probabilities (its
    scores), `q` the calibrated ones (the chance of each class), `class_index` its decisions.
    Rows must all be scored (no NaN)."""
    n, k = proba.shape
    if n == 0:
        return {}
    rows = np.arange(n)
    clipped = np.clip(proba, _EPS, 1 - _EPS)
    out = {"accuracy": float(np.mean(q[rows, class_index])),
           "log_loss": float(np.mean(-np.sum(q * np.log(clipped), axis=1)))}
    brier = np.sum(q * (1 - proba) ** 2 + (1 - q) * proba**2, axis=1)
    out["brier"] = float(np.mean(brier) * (0.5 if k == 2 else 1.0))
    # expected confusion counts per class (one against the rest)
    predicted = np.array([np.sum(class_index == c) for c in range(k)], dtype=np.float64)
    tp = np.array([np.sum(q[class_index == c, c]) for c in range(k)])
    actual = q.sum(axis=0)
    precision = [_ratio(tp[c], predicted[c]) for c in range(k)]
    recall = [_ratio(tp[c], actual[c]) for c in range(k)]
    f1 = [_ratio(2 * tp[c], actual[c] + predicted[c]) for c in range(k)]
    if k == 2:
        out["precision"], out["recall"], out["f1"] = precision[1], recall[1], f1[1]
        fp = predicted[1] - tp[1]
        out["false_positive_rate"] = _ratio(fp, n - actual[1])
        out["roc_auc"] = soft_auc(proba[:, 1], q[:, 1])
    else:
        out["precision"] = float(np.mean(precision))
        out["recall"] = float(np.mean(recall))
        out["f1"] = float(np.mean(f1))
        out["roc_auc"] = float(np.mean([soft_auc(proba[:, c], q[:, c]) for c in range(k)]))
    return {m: float(out[m]) for m in METRICS if m in out}  # in the usual order
