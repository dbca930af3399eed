"""Exact per-row explanations: how much each input column moved each raw score.

Raw space: the estimator's output before the link (margin / log-odds / value; a forest
classifier's averaged probability). For every row, base + sum of the contributions = raw score
(to float64 rounding; a float32-accumulating ensemble such as XGBoost's sums its leaves in
float32, so its own score differs from that exact sum by its float32 rounding).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from engine.explain.columns import fold, source_columns
from engine.explain.linear import linear_contributions
from engine.explain.trees import tree_contributions
from engine.explain.unavailable import CODE, ExplanationUnavailable
from engine.model import Model
from engine.model.categories import CATEGORY
from engine.model.estimators import Linear
from engine.model.rows import RowErrors
from engine.model.steps import run_steps

__all__ = ["CODE", "Explanation", "ExplanationUnavailable", "check_explainable", "explain",
           "explain_matrix", "preprocessed"]


@dataclass(frozen=True, slots=True)
class Explanation:
    """base: per raw output; contributions: rows x raw outputs x the model's input columns."""

    base: np.ndarray
    contributions: np.ndarray


def explain_matrix(model: Model, X: np.ndarray) -> Explanation:
    """Explain rows already preprocessed (the matrix the estimator receives)."""
    est = model.estimator
    if isinstance(est, Linear):
        base, contrib = linear_contributions(est, X)
    else:
        base, contrib = tree_contributions(est, X)
    n_inputs = len(model.features)
    return Explanation(base, fold(contrib, source_columns(model.steps, n_inputs), n_inputs))


def check_explainable(model: Model) -> None:
    """Raise ExplanationUnavailable before any work when the model cannot be explained."""
    explain_matrix(model, np.zeros((0, _width(model))))


def explain(model: Model, table: Mapping[str, np.ndarray]) -> Explanation:
    """Explain rows of parsed inputs (columns by name, as `Model.predict_columns` takes them:
    numbers as floats with NaN for missing, categories as objects). Rows the model rejects get
    whatever their values give; callers blank them, as predictions do."""
    return explain_matrix(model, preprocessed(model, table)[0])


def preprocessed(model: Model, table: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The matrix the estimator receives for these rows, and which rows preprocessing refused
    (an unknown category where the encoder takes none)."""
    cols = [_column(table[f.name], f.type) for f in model.features]
    errors = RowErrors(len(cols[0]))
    cols = run_steps(model.steps, cols, model.feature_names, errors)
    return np.column_stack(cols).astype(np.float64), errors.rejected


def _column(values, kind: str) -> np.ndarray:
    values = np.asarray(values)
    if kind == CATEGORY:
        return values.astype(object, copy=False)
    if values.dtype.kind in "fiub":
        return values.astype(np.float64, copy=False)
    out = np.full(len(values), np.nan)  # text that is no number: the row is rejected anyway
    for i, v in enumerate(values):
        with contextlib.suppress(TypeError, ValueError):
            out[i] = float(v)
    return out


def _width(model: Model) -> int:
    est = model.estimator
    if isinstance(est, Linear):
        return est.coef.shape[1]
    return len(source_columns(model.steps, len(model.features)))
