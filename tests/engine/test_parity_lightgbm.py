"""LightGBM models reproduce LightGBM's own predict / predict_proba to <= 1e-12 with zero label
flips: every objective and boosting type, the three missing types, the text model read
directly and the scikit-learn wrappers (alone and in a Pipeline); expected values always come
from LightGBM in the test."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from engine.cli import main
from engine.model import load_coefficients
from tests.engine.conftest import roundtrip
from tests.engine.gbm_kit import doc_splits, hard_rows, real_data

lgb = pytest.importorskip("lightgbm")
TOLERANCE = 1e-12
TREES = 25

CASES = {
    "binary-gbdt": ("binary", {}),
    "binary-dart": ("binary", {"boosting_type": "dart"}),
    "binary-rf": ("binary", {"boosting_type": "rf", "bagging_freq": 1, "bagging_fraction": 0.7}),
    "binary-sigmoid-0.7": ("binary", {"sigmoid": 0.7}),
    "multiclass-gbdt": ("multiclass", {}),
    "multiclass-dart": ("multiclass", {"boosting_type": "dart"}),
    "multiclass-rf": ("multiclass", {"boosting_type": "rf", "bagging_freq": 1,
                                     "bagging_fraction": 0.7}),
    "multiclassova": ("multiclass", {"objective": "multiclassova"}),
    "regression-l2": ("regression", {}),
    "regression-l1": ("regression", {"objective": "l1"}),
    "regression-huber": ("regression", {"objective": "huber", "alpha": 20.0}),
    "regression-rf": ("regression", {"boosting_type": "rf", "bagging_freq": 1,
                                     "bagging_fraction": 0.7}),
    "regression-dart": ("regression", {"boosting_type": "dart"}),
    "poisson": ("regression", {"objective": "poisson"}),
    "tweedie": ("regression", {"objective": "tweedie", "tweedie_variance_power": 1.3}),
    "gamma": ("regression", {"objective": "gamma"}),
    "missing-none": ("binary", {"use_missing": False}),
    "missing-zero": ("binary", {"zero_as_missing": True}),
    "missing-zero-multiclass": ("multiclass", {"zero_as_missing": True}),
}


def fit(task: str, params: dict, X: pd.DataFrame, y):
    cls = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier
    return cls(n_estimators=TREES, num_leaves=15, min_child_samples=5, verbose=-1,
               **params).fit(X, y)


def assert_same_as_lightgbm(model, proba_or_value, labels, rows: pd.DataFrame) -> float:
    """Our predictions on `rows` against LightGBM's; returns the largest difference."""
    ours = model.predict(rows)
    assert not ours.rejected.any(), ours.errors
    mine = ours.prediction if model.task == "regression" else ours.proba
    with np.errstate(invalid="ignore"):  # equal infinities (exp of a huge linear leaf) agree
        diff = float(np.where(mine == proba_or_value, 0.0, np.abs(mine - proba_or_value)).max())
    assert diff <= TOLERANCE, diff
    if labels is not None:
        flips = int((ours.prediction.astype(object) != np.asarray(labels, dtype=object)).sum())
        assert flips == 0, f"{flips} labels differ from LightGBM"
    return diff


def _wrapper_outputs(fitted, rows):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if not hasattr(fitted, "predict_proba"):
            return fitted.predict(rows), None
        return fitted.predict_proba(rows), fitted.predict(rows)


@pytest.mark.parametrize("case", list(CASES))
def test_wrapper_matches_lightgbm_on_hard_rows(case):
    task, params = CASES[case]
    X, y = real_data(task)
    fitted = fit(task, params, X, y)
    model, doc = roundtrip(fitted, X, y)
    assert model.task == task
    rows = hard_rows(X, doc_splits(doc))
    assert_same_as_lightgbm(model, *_wrapper_outputs(fitted, rows), rows)


@pytest.mark.parametrize("case", ["binary-gbdt", "multiclass-rf", "poisson", "missing-zero"])
def test_text_model_read_directly(case, tmp_path, capsys):
    """Booster.save_model -> `ratchet export model.txt` (no pickle), feature names rewritten by
    LightGBM ('mean radius' -> 'mean_radius') matched to the CSV's own header."""
    task, params = CASES[case]
    X, y = real_data(task)
    fitted = fit(task, params, X, y)
    path = tmp_path / "model.txt"
    fitted.booster_.save_model(str(path))
    if task == "binary":
        assert "mean_radius" in fitted.booster_.feature_name()
    sample = X.assign(label=y)
    sample.to_csv(tmp_path / "train.csv", index=False)
    out = tmp_path / "coefficients.json"
    code = main(["export", str(path), "--sample", str(tmp_path / "train.csv"), "--target",
                 "label", "--model-id", "lgbm-text", "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    model = load_coefficients(out)
    assert [f.name for f in model.features] == list(X.columns)
    doc = json.loads(out.read_text())
    rows = hard_rows(X, doc_splits(doc))
    theirs = lgb.Booster(model_file=str(path)).predict(rows.to_numpy())
    if task == "binary":
        proba = np.column_stack([1 - theirs, theirs])
        assert_same_as_lightgbm(model, proba, np.argmax(proba, axis=1), rows)
    elif task == "multiclass":
        assert_same_as_lightgbm(model, theirs, np.argmax(theirs, axis=1), rows)
    else:
        assert_same_as_lightgbm(model, theirs, None, rows)


def test_wrapper_as_last_step_of_a_pipeline():
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = real_data("multiclass")
    fitted = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                           lgb.LGBMClassifier(n_estimators=TREES, num_leaves=7, verbose=-1))
    fitted.fit(X, y)
    model, _ = roundtrip(fitted, X, y)
    rows = hard_rows(X, [], limit=0)
    assert_same_as_lightgbm(model, *_wrapper_outputs(fitted, rows), rows)


def test_string_labels_and_early_stopping_best_iteration():
    X, y = real_data("binary")
    labels = np.array(["benign", "malignant"])[y]
    fitted = lgb.LGBMClassifier(n_estimators=200, num_leaves=15, verbose=-1).fit(
        X[:400], labels[:400], eval_set=[(X[400:], labels[400:])],
        callbacks=[lgb.early_stopping(5, verbose=False)])
    assert 0 < fitted.best_iteration_ < 200
    model, doc = roundtrip(fitted, X, labels)
    assert len(doc["estimator"]["trees"]) == fitted.best_iteration_
    assert doc["classes"] == ["benign", "malignant"]
    assert_same_as_lightgbm(model, *_wrapper_outputs(fitted, X), X)


@pytest.mark.parametrize(("params", "what"), [
    ({"objective": "quantile"}, "quantile"),
    ({"objective": "regression", "reg_sqrt": True}, "reg_sqrt"),
])
def test_unsupported_is_refused_at_export_naming_it(params, what, tmp_path, capsys):
    X, y = real_data("regression")
    fitted = fit("regression", params, X.fillna(0.0), y)
    path = tmp_path / "model.txt"
    fitted.booster_.save_model(str(path))
    X.assign(label=y).to_csv(tmp_path / "train.csv", index=False)
    code = main(["export", str(path), "--sample", str(tmp_path / "train.csv"), "--target",
                 "label", "--model-id", "lgbm-bad", "-o", str(tmp_path / "c.json")])
    assert code == 2
    assert what in capsys.readouterr().err
    assert not (tmp_path / "c.json").exists()
