"""Model performance metrics, computed as scikit-learn 1.9.1 computes them, with numpy only.

`compute(metric, y_true, y_pred=None, proba=None, classes=None)` returns one float. The names
are those of DESIGN.md; `METRICS` says which input each needs ("labels": predicted labels in
`y_pred`; "proba": class probabilities in `proba`; "values": numeric predictions in `y_pred`)
and `GREATER_IS_BETTER` which direction is good.

Inputs must be clean: rows the predictor rejected (NaN probabilities, missing predictions) are
dropped by the caller first. Any NaN or infinity left, mismatched lengths, empty input, labels
outside `classes` or probabilities outside [0, 1] raise `EngineError` with code "E_METRIC".
Numbers are converted to float64; equality with scikit-learn is for float64 inputs.

Classification takes the model's class labels explicitly: `classes` in the order of the
probability columns (`predict_proba`), and the positive class is `classes[1]` (scikit-learn's
`pos_label=1` when the classes are [0, 1]) unless `positive=` names another. With more than
two classes, precision, recall and f1 are macro averages over all of `classes` (scikit-learn's
`average="macro", labels=classes`) and roc_auc is the one-vs-rest macro average
(`multi_class="ovr"`); false_positive_rate is binary only.

Undefined values follow scikit-learn's defaults (which warn; here we log at debug level):
precision with no predicted positives, recall with no actual positives, f1 when the class is
neither true nor predicted, and false_positive_rate with no actual negatives give 0.0;
roc_auc with a single class present in y_true (per class, for one-vs-rest) gives NaN; r2 gives
NaN under two rows, 1.0 for perfect predictions and 0.0 when y_true is constant and the
predictions are not; log_loss clips probabilities to [eps, 1 - eps]; mape divides by
max(|y_true|, eps) with eps = float64 machine epsilon.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.errors import EngineError

log = logging.getLogger(__name__)

METRICS: dict[str, str] = {
    "accuracy": "labels",
    "precision": "labels",
    "recall": "labels",
    "f1": "labels",
    "false_positive_rate": "labels",
    "roc_auc": "proba",
    "log_loss": "proba",
    "brier": "proba",
    "mae": "values",
    "rmse": "values",
    "r2": "values",
    "mape": "values",
}

GREATER_IS_BETTER: dict[str, bool] = {
    name: name not in {"log_loss", "brier", "mae", "rmse", "mape", "false_positive_rate"}
    for name in METRICS
}

_EPS = float(np.finfo(np.float64).eps)


def _fail(message: str) -> EngineError:
    return EngineError(message, "E_METRIC")


def compute(metric: str, y_true: Any, y_pred: Any = None, proba: Any = None,
            classes: Sequence[Any] | None = None, *, positive: Any = None) -> float:
    """The value of `metric` on clean arrays (see the module docstring for inputs and edges)."""
    needs = METRICS.get(metric)
    if needs is None:
        raise _fail(f"Unknown metric {metric!r}; known metrics are {', '.join(METRICS)}.")
    if needs == "values":
        t, p = _values(metric, y_true, y_pred)
        return _REGRESSION[metric](t, p)
    cls = _classes(metric, classes)
    pos = _positive(metric, cls, positive)
    y = _encode(metric, "y_true", y_true, cls)
    if needs == "labels":
        if y_pred is None:
            raise _fail(f"The metric {metric} needs predicted labels (y_pred); none were given.")
        yp = _encode(metric, "y_pred", y_pred, cls)
        if len(yp) != len(y):
            raise _fail(f"The metric {metric} got {len(y)} true labels but {len(yp)} "
                        "predicted labels; they must be as many.")
        if metric == "accuracy":
            return float(np.average(y == yp))
        return _label_metric(metric, y, yp, len(cls), pos)
    pr = _proba(metric, proba, len(y), len(cls), pos)
    return _PROBA[metric](y, pr, pos)


# ---------------------------------------------------------------- input checks

def _classes(metric: str, classes: Sequence[Any] | None) -> list[Any]:
    if classes is None:
        raise _fail(f"The metric {metric} needs the model's class labels (classes).")
    cls = list(np.asarray(classes, dtype=object).ravel())
    if len(cls) < 2 or len(set(cls)) != len(cls):
        raise _fail(f"The metric {metric} needs two or more distinct class labels; "
                    f"got {cls!r}.")
    return cls


def _positive(metric: str, cls: list[Any], positive: Any) -> int:
    if positive is None:
        return 1
    for i, c in enumerate(cls):
        if c == positive:
            return i
    raise _fail(f"The positive class {positive!r} is not one of the classes {cls!r} "
                f"(metric {metric}).")


def _encode(metric: str, name: str, labels: Any, cls: list[Any]) -> np.ndarray:
    """Labels -> index into `cls` (int array); anything else is an error naming the value."""
    arr = np.asarray(labels).ravel()
    if arr.size == 0:
        raise _fail(f"The metric {metric} got no rows.")
    out = np.full(arr.size, -1, dtype=np.intp)
    for i, c in enumerate(cls):
        out[np.asarray(arr == c, dtype=bool)] = i
    bad = np.flatnonzero(out < 0)
    if bad.size:
        k = int(bad[0])
        raise _fail(f"The metric {metric} found {name} value {arr[k]!r} in row {k}, which is "
                    f"not one of the model's classes {cls!r}.")
    return out


def _finite(metric: str, name: str, values: Any) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise _fail(f"The metric {metric} needs numbers in {name}.") from None
    if arr.size == 0:
        raise _fail(f"The metric {metric} got no rows.")
    if not np.isfinite(arr).all():
        raise _fail(f"The metric {metric} found a missing (NaN) or infinite value in {name}; "
                    "drop rejected rows before computing metrics.")
    return arr


def _values(metric: str, y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    if y_pred is None:
        raise _fail(f"The metric {metric} needs predicted values (y_pred); none were given.")
    t = _finite(metric, "y_true", y_true).ravel()
    p = _finite(metric, "y_pred", y_pred).ravel()
    if t.size != p.size:
        raise _fail(f"The metric {metric} got {t.size} true values but {p.size} predictions; "
                    "they must be as many.")
    # scikit-learn works on (n_samples, n_outputs) columns; summing the same way keeps the
    # floating-point results identical.
    return t.reshape(-1, 1), p.reshape(-1, 1)


def _proba(metric: str, proba: Any, n: int, k: int, pos: int) -> np.ndarray:
    """Probabilities as an (n, k) array in the order of `classes`.

    A 1-D array is accepted for two classes as the positive class's probability.
    """
    if proba is None:
        raise _fail(f"The metric {metric} needs class probabilities (proba); none were given.")
    pr = _finite(metric, "proba", proba)
    if pr.ndim == 1 and k == 2:
        pr = np.stack((1 - pr, pr) if pos == 1 else (pr, 1 - pr), axis=1)
    if pr.ndim != 2 or pr.shape != (n, k):
        raise _fail(f"The metric {metric} needs one probability per class for each of {n} "
                    f"rows ({n} x {k}); got shape {pr.shape}.")
    if pr.min() < 0 or pr.max() > 1:
        raise _fail(f"The metric {metric} found probabilities outside [0, 1].")
    return pr


# ---------------------------------------------------------------- label metrics

def _ratio(metric: str, num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    zero = den == 0
    if zero.any():
        log.debug("%s is ill-defined for %d class(es); 0.0 as scikit-learn", metric, zero.sum())
    return np.where(zero, 0.0, num / np.where(zero, 1.0, den))


def _label_metric(metric: str, y: np.ndarray, yp: np.ndarray, k: int, pos: int) -> float:
    if metric == "false_positive_rate":
        if k != 2:
            raise _fail("The metric false_positive_rate is defined for two classes only.")
        fp = int(np.sum((yp == pos) & (y != pos)))
        tn = int(np.sum((yp != pos) & (y != pos)))
        return float(_ratio(metric, np.array(fp), np.array(fp + tn)))
    labels = [pos] if k == 2 else list(range(k))
    tp = np.array([np.sum((y == c) & (yp == c)) for c in labels], dtype=np.int64)
    pred_sum = np.array([np.sum(yp == c) for c in labels], dtype=np.int64)
    true_sum = np.array([np.sum(y == c) for c in labels], dtype=np.int64)
    if metric == "precision":
        scores = _ratio(metric, tp, pred_sum)
    elif metric == "recall":
        scores = _ratio(metric, tp, true_sum)
    else:  # f1, as scikit-learn: (1 + b^2) tp / (b^2 true_sum + pred_sum) with b = 1
        scores = _ratio(metric, 2.0 * tp, 1.0 * true_sum + pred_sum)
    return float(np.average(scores))


# ---------------------------------------------------------------- probability metrics

def _binary_auc(is_pos: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (trapezoids, ties averaged = Mann-Whitney U), exactly.

    The area is summed in integers and divided once, so the value is the correctly rounded
    exact area; scikit-learn's floating-point trapezoid agrees to a few ulps.
    """
    n_pos = int(is_pos.sum())
    n_neg = is_pos.size - n_pos
    if n_pos == 0 or n_neg == 0:
        log.debug("roc_auc is undefined with one class in y_true; NaN as scikit-learn")
        return math.nan
    order = np.argsort(-score, kind="stable")
    s, t = score[order], is_pos[order].astype(np.int64)
    last = np.r_[np.nonzero(np.diff(s))[0], s.size - 1]
    tps = np.r_[0, np.cumsum(t)[last]]
    fps = np.r_[0, last + 1 - tps[1:]]
    twice_area = int(np.sum(np.diff(fps) * (tps[1:] + tps[:-1])))
    return twice_area / (2 * n_pos * n_neg)


def _roc_auc(y: np.ndarray, pr: np.ndarray, pos: int) -> float:
    k = pr.shape[1]
    if k == 2:
        return _binary_auc(y == pos, pr[:, pos])
    if not np.allclose(1, pr.sum(axis=1)):
        raise _fail("The metric roc_auc for more than two classes needs probabilities that "
                    "sum to 1 in each row.")
    return float(np.mean([_binary_auc(y == c, pr[:, c]) for c in range(k)]))


def _log_loss(y: np.ndarray, pr: np.ndarray, pos: int) -> float:
    clipped = np.clip(pr, _EPS, 1 - _EPS)
    return float(np.mean(-np.log(clipped[np.arange(y.size), y])))


def _brier(y: np.ndarray, pr: np.ndarray, pos: int) -> float:
    k = pr.shape[1]
    if k == 2:  # binary: on the positive class's probability, halved (scale_by_half="auto")
        p = pr[:, pos]
        hit = (y == pos).astype(np.float64)
        both = np.stack((1 - hit, hit), axis=1) - np.stack((1 - p, p), axis=1)
        return float(np.average(np.sum(both**2, axis=1)) * 0.5)
    onehot = np.zeros_like(pr)
    onehot[np.arange(y.size), y] = 1.0
    return float(np.average(np.sum((onehot - pr) ** 2, axis=1)))


_PROBA = {"roc_auc": _roc_auc, "log_loss": _log_loss, "brier": _brier}


# ---------------------------------------------------------------- regression metrics

def _mae(t: np.ndarray, p: np.ndarray) -> float:
    return float(np.average(np.average(np.abs(p - t), axis=0)))


def _rmse(t: np.ndarray, p: np.ndarray) -> float:
    return float(np.average(np.sqrt(np.average((t - p) ** 2, axis=0))))


def _r2(t: np.ndarray, p: np.ndarray) -> float:
    if t.shape[0] < 2:
        log.debug("r2 is undefined with fewer than two rows; NaN as scikit-learn")
        return math.nan
    num = float(np.sum(1.0 * (t - p) ** 2, axis=0)[0])
    den = float(np.sum(1.0 * (t - np.average(t, axis=0)) ** 2, axis=0)[0])
    if num == 0:
        return 1.0
    if den == 0:
        return 0.0
    return float(1 - num / den)


def _mape(t: np.ndarray, p: np.ndarray) -> float:
    ape = np.abs(p - t) / np.maximum(np.abs(t), _EPS)
    return float(np.average(np.average(ape, axis=0)))


_REGRESSION = {"mae": _mae, "rmse": _rmse, "r2": _r2, "mape": _mape}
