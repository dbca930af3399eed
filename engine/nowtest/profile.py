"""The reference profile a now-test compares the latest data with, "stored with the model":
the bundle's signed, labelled reference rows (`kind == "reference"` in regression_cases.csv)
and the input schema of its coefficients (each number's observed range, each category
column's observed categories).

From the reference rows: every input column (number values, category counts, missing
included), the model's outputs on them (probability of the positive class, predicted class or
value), every metric of the task against their true outcomes, and the check of the model's
calibration that the label-free estimate relies on. A bundle without reference rows still has
its schema: out-of-range shares are computed, drift is not.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from engine.errors import EngineError
from engine.formats.cases import reference_inputs
from engine.metrics import METRICS
from engine.model import Model
from engine.model.categories import NUMBER
from engine.model.rows import parse_numbers
from engine.model.scoring import metric_value, true_labels
from engine.nowtest.drift import category_counts, spread_integral
from engine.nowtest.estimate import Calibration, estimate_metrics


def task_metrics(task: str) -> list[str]:
    """Every metric that applies to a task (false_positive_rate: binary only)."""
    names = [m for m, need in METRICS.items() if (task == "regression") == (need == "values")]
    return [m for m in names if task != "multiclass" or m != "false_positive_rate"]


def metrics_of(model: Model, y_true, prediction, proba) -> dict[str, float]:
    """Every metric of the task; NaN where it is undefined on these rows (e.g. roc_auc with
    one class only)."""
    out = {}
    for metric in task_metrics(model.task):
        try:
            out[metric] = float(metric_value(metric, model, y_true, prediction, proba))
        except EngineError:
            out[metric] = math.nan
    return out


def prediction_signal(model: Model, prediction: np.ndarray, proba: np.ndarray | None,
                      class_index: np.ndarray | None) -> np.ndarray:
    """What prediction drift is measured on (scored rows only): P(positive class) for two
    classes, the predicted class (as text) for more, the predicted value for regression."""
    if model.task == "binary":
        return proba[:, 1].astype(np.float64)
    if model.task == "multiclass":
        return np.asarray([str(model.classes[i]) for i in class_index], dtype=object)
    return prediction.astype(np.float64)


def class_indices(labels: np.ndarray, model: Model) -> np.ndarray:
    """The model's class labels -> their index in model.classes."""
    index = {repr(c): i for i, c in enumerate(model.classes)}
    return np.array([index[repr(v)] for v in labels], dtype=np.intp)


@dataclass(frozen=True, slots=True)
class NumberProfile:
    values: np.ndarray  # the reference values, NaN = missing
    spread: float  # drift.spread_integral of the present values


@dataclass(frozen=True, slots=True)
class ReferenceProfile:
    rows: int  # reference rows scored (0: drift unavailable)
    numbers: dict[str, NumberProfile]
    categories: dict[str, Counter]  # counts incl. drift.MISSING; unknown values as OTHER
    known: dict[str, set[str]]  # per category column: the schema's and the reference's values
    prediction: np.ndarray | None  # prediction_signal on the reference rows
    metrics: dict[str, float] | None  # every metric on the labelled reference rows
    calibration: Calibration | None  # classifiers with labelled reference rows
    # metric -> {"estimated" (raw probabilities), "actual", and after recalibration
    # "calibrated"}, on the labelled reference rows
    estimate: dict[str, dict[str, float]] | None
    rejected: int = 0  # reference rows the model refused

    @property
    def available(self) -> bool:
        return self.rows > 0


def _column(values: np.ndarray, kind: str) -> np.ndarray:
    """Text -> numbers (None: NaN) for number columns, as the predictor reads them."""
    if kind != NUMBER:
        return values
    try:
        return np.where(values == None, "nan", values).astype(np.float64)  # noqa: E711
    except ValueError:
        return parse_numbers(values)[0]


def build_profile(model: Model, cases: bytes | None) -> ReferenceProfile:
    """The profile from a bundle's regression_cases.csv (None or no reference rows: only the
    schema is known)."""
    known = {f.name: set(f.categories or ()) for f in model.features if f.type != NUMBER}
    empty = ReferenceProfile(0, {}, {}, known, None, None, None, None)
    found = reference_inputs(cases, model)
    if found is None:
        return empty
    ref, table = found
    result = model.predict(table)
    ok = ~result.rejected
    if not ok.any():
        return ReferenceProfile(0, {}, {}, known, None, None, None, None, len(ref))
    numbers, counts = {}, {}
    for f in model.features:
        values = _column(table[f.name], f.type)[ok]
        if f.type == NUMBER:
            present = np.sort(values[~np.isnan(values)])
            numbers[f.name] = NumberProfile(values, spread_integral(present))
        else:
            known[f.name] |= {str(v) for v in values if v is not None}
            counts[f.name] = category_counts(values, known[f.name])
    prediction = prediction_signal(model, result.prediction[ok],
                                   None if result.proba is None else result.proba[ok],
                                   None if result.class_index is None else result.class_index[ok])
    metrics = calibration = estimate = None
    labels = ref["label"][ok]
    has_label = labels != ""
    if has_label.any():
        rows = np.flatnonzero(ok)[has_label]
        y = true_labels(labels[has_label], ref.rows[rows] + 1, model,
                        "regression_cases.csv, reference sample")
        proba = None if result.proba is None else result.proba[rows]
        metrics = metrics_of(model, y, result.prediction[rows], proba)
        if model.task != "regression":
            calibration = Calibration.check(proba, result.class_index[rows],
                                            class_indices(y, model))
            decisions = result.class_index[rows]
            raw = estimate_metrics(proba, proba, decisions)
            fitted = (estimate_metrics(proba, calibration.apply(proba), decisions)
                      if calibration.recalibrated else None)
            estimate = {}
            for metric, value in raw.items():
                estimate[metric] = {"estimated": value, "actual": metrics[metric]}
                if fitted is not None:  # in-sample: close by construction, shown for checking
                    estimate[metric]["calibrated"] = fitted[metric]
    return ReferenceProfile(int(ok.sum()), numbers, counts, known, prediction, metrics,
                            calibration, estimate, int((~ok).sum()))
