"""Data for the categorical parity tests: the real datasets of gbm_kit plus a text category
(8 colours), a number category (grades 3, 7, ... 31) and an integer code column (0..40), each
tied to a real feature so the trees split on them, 2% missing; and the hard rows: unseen
categories and codes that are negative, fractional, huge or beyond every bitset."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.engine.gbm_kit import real_data

COLOURS = np.array(["red", "green", "blue", "pink", "gray", "teal", "plum", "sand"])
GRADES = np.array([3, 7, 11, 15, 19, 23, 27, 31])
ODD_CODES = [-1.0, -0.5, -0.0, 1e-36, -1e-36, 0.5, 0.999999, 12.7, 31.0, 32.0, 33.0, 40.0,
             63.0, 64.0, 100.0, 2.0**31, 2.0**32 + 1, 1e10, -1e10, np.nan]


def categorical_data(task: str, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """(frame as the CSV reads it: colour text, grade and code numbers, NaN missing), y."""
    X, y = real_data(task, seed)
    rng = np.random.default_rng(seed + 7)
    n = len(X)
    rank = X.iloc[:, 0].rank(method="first").fillna(1).to_numpy()
    pos = (rank * 8 // (n + 1)).astype(int)
    noisy = np.where(rng.random(n) < 0.3, rng.integers(0, 8, n), pos)
    X["colour"] = pd.Series(COLOURS[noisy], dtype=object)
    rank2 = X.iloc[:, 2].rank(method="first").fillna(1).to_numpy()
    X["grade"] = GRADES[(rank2 * 8 // (n + 1)).astype(int)].astype(np.float64)
    X["code"] = np.where(rng.random(n) < 0.5, (rank * 41 // (n + 1)), rng.integers(0, 41, n))
    X["code"] = X["code"].astype(np.float64)
    X = X.iloc[:, [1, 4, 9]].copy().assign(colour=X["colour"], grade=X["grade"],
                                            code=X["code"])  # the categories carry the signal
    for col in ("colour", "grade", "code"):
        X.loc[rng.random(n) < 0.02, col] = np.nan
    return X, y


def as_pandas_categories(X: pd.DataFrame, codes_too: bool = False) -> pd.DataFrame:
    """What the publisher trained on: colour and grade (and code) as pandas categoricals with
    their own categories (the libraries map them to the training ones themselves)."""
    out = X.copy()
    out["colour"] = pd.Categorical(X["colour"].where(X["colour"].notna(), None))
    out["grade"] = _int_categorical(X["grade"])
    if codes_too:
        out["code"] = _int_categorical(X["code"])
    return out


def _int_categorical(values: pd.Series) -> pd.Categorical:
    """Integer categories (int64, as both libraries want them) from float numbers with NaN."""
    v = values.to_numpy(dtype=np.float64)
    cats = np.unique(v[~np.isnan(v)]).astype(np.int64)
    codes = np.where(np.isnan(v), -1, np.searchsorted(cats, np.nan_to_num(v)))
    return pd.Categorical.from_codes(codes, categories=cats)


def unseen_rows(X: pd.DataFrame, seed: int = 3) -> pd.DataFrame:
    """Rows of X with an unseen or missing colour or grade."""
    rng = np.random.default_rng(seed)
    rows = []
    for col, values in (("colour", ["violet", None, "RED"]), ("grade", [5.0, 0.0, np.nan])):
        for v in values:
            row = X.iloc[rng.integers(len(X), size=10)].copy()
            row[col] = v
            rows.append(row)
    return pd.concat(rows, ignore_index=True)


def odd_code_rows(X: pd.DataFrame, seed: int = 4) -> pd.DataFrame:
    """Rows of X whose code is each of ODD_CODES."""
    rng = np.random.default_rng(seed)
    rows = []
    for v in ODD_CODES:
        row = X.iloc[rng.integers(len(X), size=5)].copy()
        row["code"] = v
        rows.append(row)
    return pd.concat(rows, ignore_index=True)


def our_margin(model, rows: pd.DataFrame) -> np.ndarray:
    """The estimator's raw scores for rows (categories as text), through the file's steps."""
    from engine.model.categories import CATEGORY
    from engine.model.rows import RowErrors
    from engine.model.steps import run_steps

    cols = [rows[f.name].to_numpy(dtype=object if f.type == CATEGORY else np.float64)
            for f in model.features]
    errors = RowErrors(len(rows))
    cols = run_steps(model.steps, cols, model.feature_names, errors)
    assert not errors.rejected.any()
    return model.estimator.raw(np.column_stack(cols).astype(np.float64))
