"""Publisher side: the training sample's mean of each column a linear model receives.

Exact explanations of a linear model are coef x (value - mean), with the mean of the training
sample after preprocessing (`shap.LinearExplainer` with that sample as background). The
exporter has the sample (`--sample TRAIN.csv`), so it preprocesses it with the workstation's
own steps and records the column means in the estimator's `mean`. Rows the model cannot score
(a missing value with no imputer) were not trained on either and are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.explain import preprocessed
from engine.export.encode import floats
from engine.model import load_coefficients


def add_training_means(doc: dict, rows: pd.DataFrame) -> None:
    """Set doc["estimator"]["mean"] for a linear model (rows: the sample's input columns)."""
    if doc["estimator"].get("kind") != "linear":
        return
    model = load_coefficients(doc, name="exported coefficients")
    X, rejected = preprocessed(model, {f.name: rows[f.name].to_numpy() for f in model.features})
    keep = np.isfinite(X).all(axis=1) & ~rejected
    if keep.any():
        doc["estimator"]["mean"] = floats(X[keep].mean(axis=0))
