"""Scoring a model's outputs against true outcomes: shared by the regression suite (reference
sample) and the back-test (every partition)."""

from __future__ import annotations

import math

import numpy as np

from engine.errors import EngineError
from engine.metrics import METRICS, compute
from engine.model import Model


def true_labels(text: np.ndarray, rows: np.ndarray, model: Model, where: str) -> np.ndarray:
    """Outcomes as text -> numbers (regression) or the model's class labels; `rows` number
    the values in `where` for the error message."""
    if model.task != "regression":
        by_text = {str(c): c for c in model.classes}
        return np.array([by_text.get(str(t), t) for t in text], dtype=object)
    out = np.empty(len(text))
    for i, (t, row) in enumerate(zip(text, rows, strict=True)):
        try:
            out[i] = float(t)
        except (TypeError, ValueError):
            out[i] = math.nan
        if not math.isfinite(out[i]):
            raise EngineError(f"{where}: row {row}: the outcome {t!r} is not a finite number.",
                              "E_CASES_INVALID")
    return out


def metric_value(metric: str, model: Model, y_true, prediction, proba) -> float:
    """A metric of the model's outputs, fed what it needs (labels, probabilities or values)."""
    if model.task == "regression":
        return compute(metric, y_true, y_pred=prediction)
    if METRICS[metric] == "proba":
        return compute(metric, y_true, proba=proba, classes=list(model.classes))
    return compute(metric, y_true, y_pred=prediction, classes=list(model.classes))
