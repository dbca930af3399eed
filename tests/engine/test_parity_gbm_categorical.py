"""Categorical splits of LightGBM and XGBoost, against the libraries themselves: pandas
categoricals (text and number categories) and LightGBM's categorical_feature on an integer
column, the wrappers and the model files read directly. The operator's CSV carries the category
itself; unseen and missing categories go where each library sends them (XGBoost refuses an
unseen one: the row is rejected, naming the column); codes that are negative, fractional, huge
or beyond every bitset go where the library sends them. Expected values come from the
libraries in the test."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engine.cli import main
from engine.model import load_coefficients
from tests.engine.categorical_kit import (
    as_pandas_categories,
    categorical_data,
    odd_code_rows,
    our_margin,
    unseen_rows,
)
from tests.engine.conftest import roundtrip

LGB = {"n_estimators": 25, "num_leaves": 15, "min_child_samples": 5, "min_data_per_group": 5,
       "cat_smooth": 1.0, "verbose": -1}
XGB = {"n_estimators": 20, "max_depth": 4, "n_jobs": 1, "enable_categorical": True}


def _category_nodes(doc: dict) -> int:
    return sum(c is not None for t in doc["estimator"]["trees"]
               for c in t.get("category_sets", []))


def _assert_close(model, rows, proba_or_value, labels=None, tol=1e-12) -> float:
    ours = model.predict(rows)
    assert not ours.rejected.any(), ours.errors
    mine = ours.prediction if model.task == "regression" else ours.proba
    diff = float(np.abs(mine - np.asarray(proba_or_value, dtype=np.float64)).max())
    assert diff <= tol, diff
    if labels is not None:
        assert (ours.prediction.astype(object) == np.asarray(labels, dtype=object)).all()
    return diff


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("boosting", ["gbdt", "dart"])
def test_lightgbm_pandas_categoricals(task, boosting):
    lgb = pytest.importorskip("lightgbm")
    X, y = categorical_data(task)
    X = X.drop(columns=["code"])
    cls = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier
    fitted = cls(boosting_type=boosting, **LGB).fit(as_pandas_categories(X), y)
    model, doc = roundtrip(fitted, X, y)
    assert _category_nodes(doc) > 10
    rows = pd.concat([unseen_rows(X), X], ignore_index=True)
    theirs = as_pandas_categories(rows)  # LightGBM maps them to its training categories
    if task == "regression":
        _assert_close(model, rows, fitted.predict(theirs))
    else:
        _assert_close(model, rows, fitted.predict_proba(theirs), fitted.predict(theirs))


@pytest.mark.parametrize("missing", [{}, {"zero_as_missing": True}, {"use_missing": False}])
def test_lightgbm_categorical_feature_on_integer_codes(missing):
    lgb = pytest.importorskip("lightgbm")
    X, y = categorical_data("binary")
    X = X.drop(columns=["colour", "grade"])
    fitted = lgb.LGBMClassifier(**LGB, **missing).fit(X, y, categorical_feature=["code"])
    model, doc = roundtrip(fitted, X, y)
    assert _category_nodes(doc) > 10 and doc["preprocessing"] == []
    rows = pd.concat([odd_code_rows(X), X], ignore_index=True)
    _assert_close(model, rows, fitted.predict_proba(rows), fitted.predict(rows))


def test_lightgbm_text_model_with_pandas_categoricals(tmp_path, capsys):
    lgb = pytest.importorskip("lightgbm")
    X, y = categorical_data("multiclass")
    fitted = lgb.LGBMClassifier(**LGB).fit(as_pandas_categories(X, codes_too=True), y)
    path = tmp_path / "model.txt"
    fitted.booster_.save_model(str(path))
    X.assign(label=y).to_csv(tmp_path / "train.csv", index=False)
    out = tmp_path / "c.json"
    code = main(["export", str(path), "--sample", str(tmp_path / "train.csv"), "--target",
                 "label", "--model-id", "lgbm-cat", "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    model = load_coefficients(out)
    assert _category_nodes(json.loads(out.read_text())) > 10
    rows = pd.concat([unseen_rows(X), X], ignore_index=True)
    booster = lgb.Booster(model_file=str(path))
    theirs = booster.predict(as_pandas_categories(rows, codes_too=True))
    _assert_close(model, rows, theirs, np.argmax(theirs, axis=1))


def _assert_xgb(model, fitted, rows):
    """Margin bit for bit, outputs within 1 float32 step (measured 0), no label flips."""
    theirs = as_pandas_categories(rows)
    margin = np.asarray(fitted.predict(theirs, output_margin=True), dtype=np.float32)
    raw = our_margin(model, rows).astype(np.float32)
    assert raw.tobytes() == margin.reshape(raw.shape).tobytes(), "margins differ"
    if model.task == "regression":
        _assert_close(model, rows, fitted.predict(theirs), tol=0.0)
    else:
        _assert_close(model, rows, fitted.predict_proba(theirs), fitted.predict(theirs), tol=0.0)


@pytest.mark.parametrize(("task", "params"), [
    ("binary", {}), ("binary", {"max_cat_to_onehot": 16}), ("multiclass", {}),
    ("regression", {}), ("binary", {"booster": "dart", "rate_drop": 0.3}),
])
def test_xgboost_pandas_categoricals_bit_for_bit(task, params):
    xgb = pytest.importorskip("xgboost")
    X, y = categorical_data(task)
    X = X.drop(columns=["code"])
    cls = xgb.XGBRegressor if task == "regression" else xgb.XGBClassifier
    fitted = cls(**XGB, **params).fit(as_pandas_categories(X), y)
    model, doc = roundtrip(fitted, X, y)
    assert _category_nodes(doc) > 10
    missing = unseen_rows(X)
    missing = missing[missing["colour"].isna() | missing["grade"].isna()]
    _assert_xgb(model, fitted, pd.concat([missing, X], ignore_index=True))


def test_xgboost_refuses_an_unseen_category_and_so_do_we():
    xgb = pytest.importorskip("xgboost")
    X, y = categorical_data("binary")
    X = X.drop(columns=["code"])
    fitted = xgb.XGBClassifier(**XGB).fit(as_pandas_categories(X), y)
    model, _ = roundtrip(fitted, X, y)
    rows = unseen_rows(X)
    unseen = rows["colour"].isin(["violet", "RED"]) | rows["grade"].isin([5.0, 0.0])
    with pytest.raises(xgb.core.XGBoostError, match="not in the training set"):
        fitted.predict(as_pandas_categories(rows[unseen]))
    ours = model.predict(rows)
    assert (ours.rejected == unseen.to_numpy()).all()
    assert "unknown category" in ours.errors[int(np.flatnonzero(unseen)[0])]


@pytest.mark.parametrize("suffix", [".json", ".ubj"])
def test_xgboost_model_file_with_integer_codes(suffix, tmp_path, capsys):
    """A categorical feature given as numbers (DMatrix feature_types 'c'): the file stores no
    categories, the CSV carries the codes; odd codes go where XGBoost sends them."""
    xgb = pytest.importorskip("xgboost")
    X, y = categorical_data("binary")
    X = X.drop(columns=["colour", "grade"])
    types = ["q"] * (X.shape[1] - 1) + ["c"]
    dtrain = xgb.DMatrix(X.to_numpy(), y, feature_names=list(X.columns), feature_types=types,
                         enable_categorical=True)
    booster = xgb.train({"max_depth": 4, "nthread": 1, "objective": "binary:logistic"},
                        dtrain, 20)
    path = tmp_path / f"model{suffix}"
    booster.save_model(str(path))
    X.assign(label=y).to_csv(tmp_path / "train.csv", index=False)
    out = tmp_path / "c.json"
    code = main(["export", str(path), "--sample", str(tmp_path / "train.csv"), "--target",
                 "label", "--model-id", "xgb-codes", "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    model = load_coefficients(out)
    assert _category_nodes(json.loads(out.read_text())) > 10
    rows = pd.concat([odd_code_rows(X), X], ignore_index=True)
    dm = xgb.DMatrix(rows.to_numpy(), feature_names=list(X.columns), feature_types=types,
                     enable_categorical=True)
    margin = booster.predict(dm, output_margin=True)
    assert our_margin(model, rows).astype(np.float32).ravel().tobytes() == margin.tobytes()
    p1 = booster.predict(dm)
    _assert_close(model, rows, np.column_stack([np.float32(1) - p1, p1]), (p1 > 0.5) * 1,
                  tol=0.0)
