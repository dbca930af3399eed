"""LightGBM's linear_tree (a linear model in each leaf, its leaf value where one of the leaf's
features is missing) reproduces LightGBM's predict / predict_proba to <= 1e-12 with zero label
flips, on rows with NaN, on split thresholds and far outside the training range; the wrapper
and the text model read directly (LightGBM refuses zero_as_missing with linear trees).
Expected values come from LightGBM in the test."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.cli import main
from engine.model import load_coefficients
from tests.engine.conftest import roundtrip
from tests.engine.gbm_kit import doc_splits, hard_rows, real_data
from tests.engine.test_parity_lightgbm import _wrapper_outputs, assert_same_as_lightgbm

lgb = pytest.importorskip("lightgbm")

CASES = {
    "regression": ("regression", {}),
    "binary": ("binary", {}),
    "multiclass": ("multiclass", {}),
    "binary-sigmoid-0.7": ("binary", {"sigmoid": 0.7}),
    "poisson": ("regression", {"objective": "poisson"}),
    "regression-dart": ("regression", {"boosting_type": "dart"}),
    "multiclassova": ("multiclass", {"objective": "multiclassova"}),
    "missing-none": ("regression", {"use_missing": False}),
    "linear-lambda": ("regression", {"linear_lambda": 0.5}),
}


def _linear_leaves(doc: dict) -> int:
    return sum(lin is not None for t in doc["estimator"]["trees"]
               for lin in t.get("linear_leaves", []))


@pytest.mark.parametrize("case", list(CASES))
def test_linear_tree_matches_lightgbm(case):
    task, params = CASES[case]
    X, y = real_data(task)
    cls = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier
    fitted = cls(n_estimators=25, num_leaves=15, min_child_samples=5, linear_tree=True,
                 verbose=-1, **params).fit(X, y)
    model, doc = roundtrip(fitted, X, y)
    assert _linear_leaves(doc) > 50
    rows = hard_rows(X, doc_splits(doc))
    with np.errstate(over="ignore"):
        assert_same_as_lightgbm(model, *_wrapper_outputs(fitted, rows), rows)


def test_linear_tree_text_model(tmp_path, capsys):
    X, y = real_data("regression")
    fitted = lgb.LGBMRegressor(n_estimators=25, num_leaves=15, linear_tree=True,
                               verbose=-1).fit(X, y)
    path = tmp_path / "model.txt"
    fitted.booster_.save_model(str(path))
    X.assign(label=y).to_csv(tmp_path / "train.csv", index=False)
    out = tmp_path / "c.json"
    code = main(["export", str(path), "--sample", str(tmp_path / "train.csv"), "--target",
                 "label", "--model-id", "lgbm-linear", "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    doc = json.loads(out.read_text())
    assert _linear_leaves(doc) > 50
    rows = hard_rows(X, doc_splits(doc))
    theirs = lgb.Booster(model_file=str(path)).predict(rows.to_numpy())
    assert_same_as_lightgbm(load_coefficients(out), theirs, None, rows)
