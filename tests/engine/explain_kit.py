"""Helpers for the explanation tests: explain a frame, compare with shap, check additivity."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from engine.explain import explain
from engine.model import Model

EXACT = 1e-9


def explain_frame(model: Model, X: pd.DataFrame):
    return explain(model, {c: X[c].to_numpy() for c in X.columns})


def raw_scores(model: Model, X: pd.DataFrame) -> np.ndarray:
    """The estimator's raw score for each row, as the predictor computes it; a float32
    ensemble's leaves summed in float64 (the exact sum its explanation adds up to)."""
    from engine.explain import preprocessed

    est = model.estimator
    if getattr(est, "leaf_value", None) is not None and est.leaf_value.dtype == np.float32:
        est = dataclasses.replace(est, leaf_value=est.leaf_value.astype(np.float64),
                                  init=est.init.astype(np.float64))
    return est.raw(preprocessed(model, {c: X[c].to_numpy() for c in X.columns})[0])


def assert_additive(model: Model, X: pd.DataFrame, explanation) -> None:
    """base + sum of contributions = raw score, on every row."""
    total = explanation.base + explanation.contributions.sum(axis=2)
    np.testing.assert_allclose(total, raw_scores(model, X), rtol=0, atol=EXACT)


def shap_as_ours(values, n_outputs: int) -> np.ndarray:
    """shap's (rows x features [x outputs]) or list of per-class arrays -> rows x outputs x
    features."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 2:
        return values[:, None, :]
    if values.shape[0] == n_outputs and values.ndim == 3 and values.shape[2] != n_outputs:
        return np.transpose(values, (1, 0, 2))
    return np.transpose(values, (0, 2, 1))
