"""From raw scores to probabilities (the link) and to a predicted label (the decision).

Each rule mirrors how scikit-learn computes the same thing, including which side a tie falls
on: a binary LogisticRegression predicts class 1 when the score is > 0, GradientBoosting when
it is >= 0, forests by argmax of the averaged probabilities.
"""

from __future__ import annotations

import numpy as np

from engine.model.expf import expf

# link -> the tasks it serves
LINKS = {
    "identity": {"regression"},
    "exp": {"regression"},
    "logistic": {"binary"},
    "half_logistic": {"binary"},
    "softmax": {"multiclass"},
    "ovr_logistic": {"multiclass"},
    "ovr_sigmoid": {"multiclass"},
    "exp_float32": {"regression"},
    "logistic_float32": {"binary", "regression"},
    "softmax_float32": {"multiclass"},
    "softmax_numpy_float32": {"multiclass"},
    "proba": {"binary", "multiclass"},
}
DECISIONS = {
    "value": {"regression"},
    "raw_positive": {"binary"},
    "raw_nonnegative": {"binary"},
    "argmax_raw": {"binary", "multiclass"},
    "argmax_proba": {"binary", "multiclass"},
}


def raw_width(link: str, n_classes: int) -> int:
    """How many raw outputs the link needs."""
    if link in {"identity", "exp", "logistic", "half_logistic", "exp_float32",
                "logistic_float32"}:
        return 1
    return n_classes


def expit(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), computed in place on one new array."""
    out = np.negative(x)
    np.exp(out, out=out)
    out += 1.0
    return np.reciprocal(out, out=out)


def _softmax(raw: np.ndarray) -> np.ndarray:
    z = raw - raw.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def _ovr(raw: np.ndarray) -> np.ndarray:
    prob = expit(raw)
    total = prob.sum(axis=1)
    zero = total == 0
    if zero.any():
        prob[zero, :] = 1.0
        total[zero] = prob.shape[1]
    prob /= total[:, None]
    return prob


def exp32(x: np.ndarray) -> np.ndarray:
    """float32 exp as glibc's expf, which XGBoost calls (numpy's own float32 exp is up to 2
    float32 steps off it, a correctly rounded exp 1 step on 0.06% of inputs)."""
    return expf(x)


def sigmoid32(raw: np.ndarray) -> np.ndarray:
    """XGBoost's float32 sigmoid: 1 / (1 + expf(min(-x, 88.7)))."""
    x = np.minimum(-raw.astype(np.float32), np.float32(88.7))
    return (np.float32(1) / (exp32(x) + np.float32(1))).astype(np.float32)


def softmax32(raw: np.ndarray) -> np.ndarray:
    """XGBoost's softmax: float32 exp(x - max), summed in float64, divided in float32."""
    x = raw.astype(np.float32)
    e = exp32(x - x.max(axis=1, keepdims=True))
    total = e.astype(np.float64).sum(axis=1, keepdims=True).astype(np.float32)
    return (e / total).astype(np.float32)


def probabilities(link: str, raw: np.ndarray) -> np.ndarray | None:
    """Class probabilities (n x n_classes), or None for regression."""
    if link in {"identity", "exp", "exp_float32"}:
        return None
    if link == "logistic_float32":
        p1 = sigmoid32(raw[:, 0])
        return np.column_stack([np.float32(1) - p1, p1]).astype(np.float64)
    if link == "softmax_float32":
        return softmax32(raw).astype(np.float64)
    if link == "softmax_numpy_float32":
        # XGBClassifier(objective="multi:softmax").predict_proba: scipy.special.softmax of the
        # float32 margins, i.e. numpy's float32 exp and sum (not XGBoost's own softmax).
        x = raw.astype(np.float32)
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float64)
    if link in {"logistic", "half_logistic"}:
        proba = np.empty((raw.shape[0], 2))
        proba[:, 1] = expit(raw[:, 0] if link == "logistic" else 2.0 * raw[:, 0])
        np.subtract(1.0, proba[:, 1], out=proba[:, 0])
        return proba
    if link == "softmax":
        return _softmax(raw.copy())
    if link == "ovr_logistic":
        return _ovr(raw)
    if link == "ovr_sigmoid":  # LightGBM's multiclassova: one sigmoid per class, unnormalised
        return expit(raw)
    return raw  # "proba": the raw scores already are probabilities


def regression_value(link: str, raw: np.ndarray) -> np.ndarray:
    if link == "exp_float32":
        return exp32(raw[:, 0]).astype(np.float64)
    if link == "logistic_float32":
        return sigmoid32(raw[:, 0]).astype(np.float64)
    return np.exp(raw[:, 0]) if link == "exp" else raw[:, 0].copy()


def class_index(decision: str, raw: np.ndarray, proba: np.ndarray) -> np.ndarray:
    if decision == "raw_positive":
        return (raw[:, 0] > 0).astype(np.intp)
    if decision == "raw_nonnegative":
        return (raw[:, 0] >= 0).astype(np.intp)
    if decision == "argmax_raw":
        return np.argmax(raw, axis=1)
    return np.argmax(proba, axis=1)
