"""Exact per-row explanations against shap (a test dependency) and against XGBoost's and
LightGBM's own pred_contribs; additivity on every row; models without covers or means."""

from __future__ import annotations

import json
from itertools import combinations
from math import factorial

import lightgbm
import numpy as np
import pandas as pd
import pytest
import shap
import xgboost
from sklearn import ensemble, linear_model, tree
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from engine.explain import CODE, ExplanationUnavailable
from engine.model import load_coefficients
from tests.engine.conftest import frame, roundtrip
from tests.engine.explain_kit import (
    EXACT,
    assert_additive,
    explain_frame,
    shap_as_ours,
)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5))
    X[:, 3] = np.round(X[:, 3])  # ties and zeros
    y = ((X[:, 0] + X[:, 1] * X[:, 2] + 0.3 * rng.normal(size=600)) > 0).astype(int)
    holes = X.copy()
    holes[rng.random(X.shape) < 0.1] = np.nan
    return frame(X), frame(holes), y


TREES = {
    "decision-tree": lambda: tree.DecisionTreeRegressor(max_depth=7, random_state=0),
    "random-forest": lambda: ensemble.RandomForestClassifier(25, max_depth=8, random_state=0),
    "gradient-boosting": lambda: ensemble.GradientBoostingClassifier(n_estimators=30,
                                                                     random_state=0),
    "hist-gradient-boosting": lambda: ensemble.HistGradientBoostingRegressor(max_iter=30,
                                                                             random_state=0),
}
TAKES_MISSING = {"decision-tree", "random-forest", "hist-gradient-boosting"}


@pytest.mark.parametrize("name", list(TREES))
def test_trees_equal_shap_tree_explainer(data, name):
    full, holes, y = data
    X = holes if name in TAKES_MISSING else full
    target = y if hasattr(TREES[name](), "predict_proba") else y + X["x0"].fillna(0)
    fitted = TREES[name]().fit(X, target)
    model, _ = roundtrip(fitted, X, target)
    ours = explain_frame(model, X)
    explainer = shap.TreeExplainer(fitted, feature_perturbation="tree_path_dependent")
    theirs = shap_as_ours(explainer.shap_values(X), model.estimator.n_outputs)
    np.testing.assert_allclose(ours.contributions, theirs, rtol=0, atol=EXACT)
    np.testing.assert_allclose(ours.base, np.atleast_1d(explainer.expected_value), rtol=0,
                               atol=EXACT)
    assert_additive(model, X, ours)


def test_linear_through_scaler_and_one_hot_equals_linear_explainer():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(5, 2, 500), "b": rng.normal(size=500),
                      "colour": rng.choice(["red", "green", "blue"], 500)})
    y = ((X["a"] - 5 + (X["colour"] == "red") * 1.5 + X["b"]) > 0.5).astype(int)
    front = ColumnTransformer([("num", StandardScaler(), ["a", "b"]),
                               ("cat", OneHotEncoder(), ["colour"])])
    fitted = make_pipeline(front, linear_model.LogisticRegression()).fit(X, y)
    model, doc = roundtrip(fitted, X, y)
    ours = explain_frame(model, X)
    background = fitted[0].transform(X)  # the training sample, as the estimator sees it
    # shap's masker keeps 100 background rows by default; the whole sample gives its mean.
    masker = shap.maskers.Independent(background, max_samples=len(background))
    explainer = shap.LinearExplainer(fitted[-1], masker)
    encoded = explainer.shap_values(background)
    # The one-hot block's three columns sum to "colour"; each scaled column is its input.
    theirs = np.column_stack([encoded[:, 0], encoded[:, 1], encoded[:, 2:].sum(axis=1)])
    np.testing.assert_allclose(ours.contributions[:, 0, :], theirs, rtol=0, atol=EXACT)
    np.testing.assert_allclose(ours.base, [explainer.expected_value], rtol=0, atol=EXACT)
    np.testing.assert_allclose(doc["estimator"]["mean"], background.mean(axis=0), atol=EXACT)
    assert_additive(model, X, ours)


def test_linear_regression_contributions_are_coef_times_centered_value(data):
    full, _, y = data
    target = full["x0"] * 3 - full["x2"] + y
    fitted = linear_model.Ridge().fit(full, target)
    model, _ = roundtrip(fitted, full, target)
    ours = explain_frame(model, full)
    expected = fitted.coef_ * (full.to_numpy() - full.to_numpy().mean(axis=0))
    np.testing.assert_allclose(ours.contributions[:, 0, :], expected, rtol=0, atol=EXACT)
    assert_additive(model, full, ours)


def test_xgboost_equals_its_own_pred_contribs(data):
    _, holes, y = data
    fitted = xgboost.XGBClassifier(n_estimators=30, max_depth=4, n_jobs=1).fit(holes, y)
    model, doc = roundtrip(fitted, holes, y)
    assert all("cover" in t for t in doc["estimator"]["trees"])
    ours = explain_frame(model, holes)
    theirs = fitted.get_booster().predict(xgboost.DMatrix(holes), pred_contribs=True)
    # XGBoost computes its contributions in float32; ours are float64 on the same leaves.
    np.testing.assert_allclose(ours.contributions[:, 0, :], theirs[:, :-1], rtol=0, atol=1e-5)
    np.testing.assert_allclose(ours.base, theirs[:1, -1], rtol=0, atol=1e-6)
    assert_additive(model, holes, ours)  # against the float64 sum of its float32 leaves


def test_lightgbm_equals_its_own_pred_contrib(data):
    _, holes, y = data
    fitted = lightgbm.LGBMClassifier(n_estimators=30, verbose=-1, n_jobs=1).fit(holes, y)
    model, _ = roundtrip(fitted, holes, y)
    ours = explain_frame(model, holes)
    theirs = fitted.booster_.predict(holes, pred_contrib=True)
    np.testing.assert_allclose(ours.contributions[:, 0, :], theirs[:, :-1], rtol=0, atol=EXACT)
    np.testing.assert_allclose(ours.base, theirs[:1, -1], rtol=0, atol=EXACT)
    assert_additive(model, holes, ours)


def _path_dependent_value(t, x, known: set, node: int = 0) -> float:
    """E[f | x_S] as path-dependent TreeSHAP defines it, straight from the tree's arrays."""
    if t.children_left[node] < 0:
        return float(t.value[node, 0, 0])
    left, right = t.children_left[node], t.children_right[node]
    f = t.feature[node]
    if f in known:
        go_left = np.float32(x[f]) <= t.threshold[node]
        return _path_dependent_value(t, x, known, left if go_left else right)
    w = t.weighted_n_node_samples
    return (w[left] * _path_dependent_value(t, x, known, left)
            + w[right] * _path_dependent_value(t, x, known, right)) / w[node]


def test_small_tree_equals_brute_force_shapley_values(data):
    """Independent of shap: the Shapley values of the path-dependent game, by enumeration."""
    full, _, y = data
    fitted = tree.DecisionTreeRegressor(max_depth=5, random_state=0).fit(full, y + full["x1"])
    model, _ = roundtrip(fitted, full, y + full["x1"])
    rows = full.iloc[:20]
    ours = explain_frame(model, rows).contributions[:, 0, :]
    n = full.shape[1]
    for i, x in enumerate(rows.to_numpy()):
        for j in range(n):
            others = [k for k in range(n) if k != j]
            phi = 0.0
            for size in range(n):
                weight = factorial(size) * factorial(n - size - 1) / factorial(n)
                for s in combinations(others, size):
                    phi += weight * (_path_dependent_value(fitted.tree_, x, {*s, j})
                                     - _path_dependent_value(fitted.tree_, x, set(s)))
            assert abs(ours[i, j] - phi) <= EXACT


def test_a_file_without_covers_predicts_but_does_not_explain(data):
    full, _, y = data
    fitted = ensemble.RandomForestClassifier(5, max_depth=4, random_state=0).fit(full, y)
    _, doc = roundtrip(fitted, full, y)
    old = json.loads(json.dumps(doc))
    for t in old["estimator"]["trees"]:
        del t["cover"]
    model = load_coefficients(old)
    np.testing.assert_array_equal(model.predict(full).proba, fitted.predict_proba(full))
    with pytest.raises(ExplanationUnavailable) as err:
        explain_frame(model, full)
    assert err.value.code == CODE == "E_NO_EXPLANATION"
    assert "no node covers" in err.value.message
    assert "re-export it with ratchet >=" in err.value.message


def test_a_linear_file_without_means_does_not_explain(data):
    full, _, y = data
    _, doc = roundtrip(linear_model.LogisticRegression().fit(full, y), full, y)
    del doc["estimator"]["mean"]
    with pytest.raises(ExplanationUnavailable, match="no training means"):
        explain_frame(load_coefficients(doc), full)


def test_covers_on_some_trees_only_are_refused(data):
    full, _, y = data
    _, doc = roundtrip(ensemble.RandomForestClassifier(3, max_depth=3, random_state=0)
                       .fit(full, y), full, y)
    del doc["estimator"]["trees"][1]["cover"]
    with pytest.raises(Exception, match=r"tree 1 has no cover"):
        load_coefficients(doc)


@pytest.mark.parametrize("suffix", [".json", ".ubj", ".txt"])
def test_model_files_read_directly_carry_covers_and_explain(data, tmp_path, suffix):
    """XGBoost .json / .ubj and LightGBM .txt files (no wrapper): the same covers."""
    from engine.export.exporter import export_model
    from engine.export.load import load_native

    _, holes, y = data
    path = tmp_path / f"model{suffix}"
    if suffix == ".txt":
        fitted = lightgbm.LGBMClassifier(n_estimators=10, verbose=-1, n_jobs=1).fit(holes, y)
        fitted.booster_.save_model(str(path))
        theirs = fitted.booster_.predict(holes, pred_contrib=True)
        atol = EXACT
    else:
        fitted = xgboost.XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1).fit(holes, y)
        fitted.get_booster().save_model(str(path))
        theirs = fitted.get_booster().predict(xgboost.DMatrix(holes), pred_contribs=True)
        atol = 1e-5  # XGBoost's own contributions are float32
    doc = export_model(load_native(path), holes.assign(y=y), "y", "m")
    assert all("cover" in t for t in doc["estimator"]["trees"])
    model = load_coefficients(doc)
    ours = explain_frame(model, holes)
    np.testing.assert_allclose(ours.contributions[:, 0, :], theirs[:, :-1], rtol=0, atol=atol)
    assert_additive(model, holes, ours)


def test_lightgbm_category_sets_and_zero_as_missing_equal_pred_contrib(data):
    _, holes, y = data
    X = holes.assign(kind=pd.Categorical(np.where(holes["x3"].fillna(0) > 0, "up", np.where(
        holes["x3"].fillna(0) < 0, "down", "flat"))))
    X["x4"] = X["x4"].fillna(0.0).round()  # zeros, read as missing below
    fitted = lightgbm.LGBMClassifier(n_estimators=20, verbose=-1, n_jobs=1,
                                     zero_as_missing=True, min_data_per_group=5,
                                     cat_smooth=1).fit(X, y)
    model, doc = roundtrip(fitted, X, y)
    assert any("category_sets" in t for t in doc["estimator"]["trees"])
    ours = explain_frame(model, X)
    theirs = fitted.booster_.predict(X, pred_contrib=True)
    np.testing.assert_allclose(ours.contributions[:, 0, :], theirs[:, :-1], rtol=0, atol=EXACT)
    assert_additive(model, X, ours)


def test_linear_leaves_are_not_explained(data):
    full, _, y = data
    fitted = lightgbm.LGBMRegressor(n_estimators=5, linear_tree=True, verbose=-1,
                                    n_jobs=1).fit(full, y + full["x0"])
    model, _ = roundtrip(fitted, full, y + full["x0"])
    with pytest.raises(ExplanationUnavailable, match="linear leaves"):
        explain_frame(model, full)
