"""Shared data for the XGBoost and LightGBM parity tests: real datasets with 2% missing cells,
and the hard rows: values exactly on split thresholds and one float64 / float32 step either
side, -0.0 and the values LightGBM reads as zero, values far outside the training range."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

MISSING_SHARE = 0.02


def real_data(task: str, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """breast cancer (binary), wine (3 classes) or diabetes (positive regression target);
    2% of cells blanked; one column rounded so that exact zeros occur."""
    loader = {"binary": load_breast_cancer, "multiclass": load_wine,
              "regression": load_diabetes}[task]
    data = loader(as_frame=True)
    X = data.frame.drop(columns=[data.target.name]).astype(np.float64)
    X.columns = [str(c) for c in X.columns]
    y = data.target.to_numpy()
    rng = np.random.default_rng(seed)
    col = X.columns[1]
    X[col] = np.round((X[col] - X[col].median()) / X[col].std())
    X = X.mask(rng.random(X.shape) < MISSING_SHARE)
    return X.reset_index(drop=True), y


def steps_around(value: float) -> list[float]:
    """value, one float64 step either side, its float32 rounding and one float32 step either
    side of that."""
    v32 = np.float32(value)
    return [value, float(np.nextafter(value, np.inf)), float(np.nextafter(value, -np.inf)),
            float(v32), float(np.nextafter(v32, np.float32(np.inf))),
            float(np.nextafter(v32, np.float32(-np.inf)))]


ZEROISH = [0.0, -0.0, 1e-36, -1e-36, float(np.float32(1e-35)), -float(np.float32(1e-35)),
           float(np.nextafter(np.float32(1e-35), np.float32(1))), 5e-324]


def hard_rows(X: pd.DataFrame, splits: list[tuple[int, float]], seed: int = 1,
              limit: int = 400) -> pd.DataFrame:
    """Rows of X with one cell replaced by a threshold (and its neighbours), by a zero-like
    value, or by a value far outside the training range; then the rows of X themselves."""
    rng = np.random.default_rng(seed)
    base = X.to_numpy()
    rows = []
    for f, thr in splits[:limit]:
        for value in steps_around(thr):
            row = base[rng.integers(len(base))].copy()
            row[f] = value
            rows.append(row)
    for f in range(base.shape[1]):
        for value in [*ZEROISH, 1e300, -1e300, np.nanmax(base[:, f]) * 7.5 + 1,
                      np.nanmin(base[:, f]) * 7.5 - 1, np.nan]:
            row = base[rng.integers(len(base))].copy()
            row[f] = value
            rows.append(row)
    hard = pd.DataFrame(np.array(rows), columns=X.columns)
    return pd.concat([hard, X], ignore_index=True)


def doc_splits(doc: dict) -> list[tuple[int, float]]:
    """(feature, threshold) of every split node in an exported document, in tree order."""
    out = []
    for tree in doc["estimator"]["trees"]:
        for f, thr, left in zip(tree["feature"], tree["threshold"], tree["left"], strict=True):
            if left >= 0 and not isinstance(thr, str):
                out.append((f, thr))
    return out
