"""Scoring during the search with our own metrics (engine.metrics), the ones the requirements
are later checked with on the workstation."""

from __future__ import annotations

import logging
import math

from engine.errors import EngineError, InputError
from engine.metrics import GREATER_IS_BETTER, METRICS, compute

log = logging.getLogger(__name__)

DEFAULT_METRIC = {"binary": "roc_auc", "multiclass": "roc_auc", "regression": "rmse"}


def choose_metric(metric: str | None, task: str) -> str:
    if metric is None:
        return DEFAULT_METRIC[task]
    if metric not in METRICS:
        raise InputError(f"unknown metric {metric!r}; the metrics are {', '.join(METRICS)}.",
                         "E_METRIC")
    if (task == "regression") != (METRICS[metric] == "values"):
        fitting = [m for m, kind in METRICS.items() if (kind == "values") == (task == "regression")]
        raise InputError(f"{metric} does not apply to a {task} target; use one of "
                         f"{', '.join(fitting)}.", "E_METRIC")
    if metric == "false_positive_rate" and task == "multiclass":
        raise InputError("false_positive_rate is defined for two classes only; this target has "
                         "more.", "E_METRIC")
    return metric


def metric_of(metric: str, estimator, X, y) -> float:
    """The metric's value for a fitted estimator (or pipeline) on rows X with outcomes y; NaN
    when it is undefined there (e.g. a validation window holding a class the training rows
    lacked, or one class only for roc_auc)."""
    needs = METRICS[metric]
    try:
        if needs == "values":
            return compute(metric, y, y_pred=estimator.predict(X))
        classes = list(estimator.classes_)
        if needs == "proba":
            return compute(metric, y, proba=estimator.predict_proba(X), classes=classes)
        return compute(metric, y, y_pred=estimator.predict(X), classes=classes)
    except EngineError as exc:
        log.info("%s undefined on a validation window: %s", metric, exc.message)
        return math.nan


class MetricScorer:
    """A scikit-learn scorer (`scorer(estimator, X, y)`, greater is better): the metric, negated
    for error metrics. A module-level class, so joblib can send it to worker processes."""

    def __init__(self, metric: str):
        self.metric = metric
        self.sign = 1.0 if GREATER_IS_BETTER[metric] else -1.0

    def __call__(self, estimator, X, y) -> float:
        return self.sign * metric_of(self.metric, estimator, X, y)
