"""Every supported estimator family reproduces scikit-learn's predict / predict_proba exactly:
on synthetic data, on rows with NaN, and on rows that sit exactly on split thresholds."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn import ensemble, linear_model, tree
from sklearn.datasets import make_classification, make_regression
from sklearn.multiclass import OneVsRestClassifier

from tests.engine.conftest import assert_same_as_sklearn, frame, roundtrip

RNG = np.random.default_rng(7)


def _data(kind: str, n: int = 700, seed: int = 0, nan_share: float = 0.0):
    if kind == "regression":
        X, y = make_regression(n, 8, n_informative=5, noise=3.0, random_state=seed)
    else:
        X, y = make_classification(n, 8, n_informative=5, n_redundant=1,
                                   n_classes=2 if kind == "binary" else 3, random_state=seed)
    if nan_share:
        rng = np.random.default_rng(seed)
        X[rng.random(X.shape) < nan_share] = np.nan
    return frame(X), y


FAMILIES = {
    "LinearRegression": ("regression", lambda: linear_model.LinearRegression()),
    "Ridge": ("regression", lambda: linear_model.Ridge(alpha=2.0)),
    "Lasso": ("regression", lambda: linear_model.Lasso(alpha=0.5)),
    "ElasticNet": ("regression", lambda: linear_model.ElasticNet(alpha=0.5, l1_ratio=0.3)),
    "LogisticRegression-binary": ("binary", lambda: linear_model.LogisticRegression()),
    "LogisticRegression-multinomial": ("multiclass", lambda: linear_model.LogisticRegression()),
    "LogisticRegression-ovr": (
        "multiclass", lambda: OneVsRestClassifier(linear_model.LogisticRegression())),
    "DecisionTreeClassifier": ("multiclass", lambda: tree.DecisionTreeClassifier(random_state=0)),
    "DecisionTreeRegressor": ("regression", lambda: tree.DecisionTreeRegressor(random_state=0)),
    "RandomForestClassifier": (
        "binary", lambda: ensemble.RandomForestClassifier(25, random_state=0)),
    "RandomForestClassifier-multi": (
        "multiclass", lambda: ensemble.RandomForestClassifier(25, random_state=0)),
    "RandomForestRegressor": (
        "regression", lambda: ensemble.RandomForestRegressor(25, random_state=0)),
    "ExtraTreesClassifier": (
        "multiclass", lambda: ensemble.ExtraTreesClassifier(25, random_state=0)),
    "ExtraTreesRegressor": (
        "regression", lambda: ensemble.ExtraTreesRegressor(25, random_state=0)),
    "GradientBoostingClassifier-binary": (
        "binary", lambda: ensemble.GradientBoostingClassifier(n_estimators=40, random_state=0)),
    "GradientBoostingClassifier-exponential": (
        "binary", lambda: ensemble.GradientBoostingClassifier(
            n_estimators=40, loss="exponential", random_state=0)),
    "GradientBoostingClassifier-multi": (
        "multiclass", lambda: ensemble.GradientBoostingClassifier(n_estimators=20,
                                                                  random_state=0)),
    "GradientBoostingRegressor": (
        "regression", lambda: ensemble.GradientBoostingRegressor(n_estimators=40, loss="huber",
                                                                 random_state=0)),
    "HistGradientBoostingClassifier-binary": (
        "binary", lambda: ensemble.HistGradientBoostingClassifier(max_iter=40, random_state=0)),
    "HistGradientBoostingClassifier-multi": (
        "multiclass", lambda: ensemble.HistGradientBoostingClassifier(max_iter=20,
                                                                      random_state=0)),
    "HistGradientBoostingRegressor": (
        "regression", lambda: ensemble.HistGradientBoostingRegressor(max_iter=40,
                                                                     random_state=0)),
}
TREE_FAMILIES = [k for k in FAMILIES if "Tree" in k or "Forest" in k or "Boost" in k]
# Families whose scikit-learn predictor accepts NaN (trees with a stored missing direction).
NAN_FAMILIES = [k for k in TREE_FAMILIES if not k.startswith("GradientBoosting")]


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_matches_sklearn_on_synthetic_data(family):
    task, make = FAMILIES[family]
    X, y = _data(task)
    fitted = make().fit(X[:500], y[:500])
    model, _ = roundtrip(fitted, X[:500], y[:500])
    assert model.task == task
    assert_same_as_sklearn(model, fitted, X[500:])
    # Far outside the training range too (extrapolation must follow the same rules).
    assert_same_as_sklearn(model, fitted, X[500:] * 7.5)


@pytest.mark.parametrize("family", NAN_FAMILIES)
def test_nan_rows_follow_the_stored_missing_direction(family):
    task, make = FAMILIES[family]
    X, y = _data(task, nan_share=0.15, seed=3)
    fitted = make().fit(X[:500], y[:500])
    model, doc = roundtrip(fitted, X[:500], y[:500])
    assert all(f["missing"] for f in doc["inputs"])
    test = X[500:].copy()
    test.iloc[::3, :] = np.nan  # some rows entirely missing
    assert_same_as_sklearn(model, fitted, test)


def test_nan_rows_also_work_when_training_saw_none():
    X, y = _data("binary", seed=4)
    fitted = ensemble.RandomForestClassifier(15, random_state=1).fit(X[:500], y[:500])
    model, _ = roundtrip(fitted, X[:500], y[:500])
    test = X[500:].copy()
    test[test > 0.8] = np.nan
    assert_same_as_sklearn(model, fitted, test)


def _threshold_rows(fitted, X, doc) -> np.ndarray:
    """Rows whose values sit exactly on split thresholds, and one float32/float64 step off."""
    trees = doc["estimator"]["trees"]
    base = X.to_numpy()
    rows = []
    for t in trees[:10]:
        for node, (f, thr) in enumerate(zip(t["feature"], t["threshold"], strict=True)):
            if t["left"][node] < 0 or isinstance(thr, str):
                continue
            thr32 = np.float32(thr)
            for value in (thr, np.nextafter(thr, np.inf), np.nextafter(thr, -np.inf),
                          float(thr32), float(np.nextafter(thr32, np.float32(np.inf))),
                          float(np.nextafter(thr32, np.float32(-np.inf)))):
                row = base[RNG.integers(len(base))].copy()
                row[f] = value
                rows.append(row)
    return np.array(rows)


@pytest.mark.parametrize("family", TREE_FAMILIES)
def test_values_exactly_on_thresholds(family):
    task, make = FAMILIES[family]
    X, y = _data(task, seed=5)
    fitted = make().fit(X, y)
    model, doc = roundtrip(fitted, X, y)
    on = frame(_threshold_rows(fitted, X, doc))
    assert len(on) > 100
    assert_same_as_sklearn(model, fitted, on)


def test_rows_with_nan_are_rejected_where_sklearn_refuses_them():
    X, y = _data("binary", seed=6)
    fitted = linear_model.LogisticRegression().fit(X, y)
    model, doc = roundtrip(fitted, X, y)
    assert not any(f["missing"] for f in doc["inputs"])
    test = X[:10].copy()
    test.iloc[2, 3] = np.nan
    result = model.predict(test)
    assert result.rejected.tolist() == [i == 2 for i in range(10)]
    assert "'x3'" in result.errors[2] and "missing" in result.errors[2]
    assert np.isnan(result.proba[2]).all() and result.prediction[2] is None
    with warnings.catch_warnings(), pytest.raises(ValueError):
        warnings.simplefilter("ignore")
        fitted.predict(test)  # scikit-learn refuses the whole batch; we refuse one row
    ok = ~result.rejected
    np.testing.assert_allclose(result.proba[ok], fitted.predict_proba(test[ok]), rtol=0,
                               atol=1e-12)


def test_string_class_labels_come_back_as_labels():
    X, y = _data("multiclass", seed=8)
    labels = np.array(["low", "mid", "high"])[y]
    fitted = ensemble.HistGradientBoostingClassifier(max_iter=10).fit(X, labels)
    model, doc = roundtrip(fitted, X, labels)
    assert doc["classes"] == ["high", "low", "mid"]
    assert_same_as_sklearn(model, fitted, X)
