"""XGBoost models reproduce XGBoost bit for bit: the raw margin equals
predict(output_margin=True) as float32 on every row, probabilities and predictions are within
1 float32 step (measured: 0), zero label flips; every objective, gbtree and dart, a non-NaN
`missing`, the .json and .ubj model files read directly. Expected values come from XGBoost."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engine.cli import main
from engine.model import load_coefficients
from engine.model.steps import run_steps
from tests.engine.conftest import roundtrip
from tests.engine.gbm_kit import doc_splits, hard_rows, real_data

xgb = pytest.importorskip("xgboost")
TREES = 20
DART = {"booster": "dart", "rate_drop": 0.3}

CASES = {
    "binary:logistic": ("binary", {}),
    "binary:logistic-dart": ("binary", {**DART}),
    "multi:softprob": ("multiclass", {}),
    "multi:softprob-dart": ("multiclass", {**DART}),
    "multi:softmax": ("multiclass", {"objective": "multi:softmax"}),
    "reg:squarederror": ("regression", {}),
    "reg:squarederror-dart": ("regression", {**DART}),
    "reg:logistic": ("regression-01", {"objective": "reg:logistic"}),
    "count:poisson": ("regression", {"objective": "count:poisson"}),
    "reg:tweedie": ("regression", {"objective": "reg:tweedie"}),
    "reg:gamma": ("regression", {"objective": "reg:gamma"}),
    "reg:absoluteerror": ("regression", {"objective": "reg:absoluteerror"}),
    "missing=0": ("regression", {"missing": 0.0}),
    "base_score-given": ("binary", {"base_score": 0.3}),
}


def data(task: str):
    if task == "regression-01":
        return real_data("binary")
    return real_data(task)


def fit(task: str, params: dict, X, y):
    cls = xgb.XGBClassifier if task in {"binary", "multiclass"} else xgb.XGBRegressor
    return cls(n_estimators=TREES, max_depth=4, n_jobs=1, **params).fit(X, y)


def our_margin(model, rows: pd.DataFrame) -> np.ndarray:
    matrix = rows.to_numpy(dtype=np.float64)
    cols = run_steps(model.steps, [matrix[:, j] for j in range(matrix.shape[1])],
                     model.feature_names, None)
    return model.estimator.raw(np.column_stack(cols))


def float32_steps(ours: np.ndarray, theirs: np.ndarray) -> float:
    spacing = np.spacing(np.abs(theirs).astype(np.float32)).astype(np.float64)
    return float((np.abs(ours - np.asarray(theirs, dtype=np.float64)) / spacing).max())


def assert_same_as_xgboost(model, margin, output, labels, rows) -> float:
    raw = our_margin(model, rows)
    assert raw.astype(np.float32).tobytes() == np.asarray(
        margin, dtype=np.float32).reshape(raw.shape).tobytes(), "margins differ"
    ours = model.predict(rows)
    assert not ours.rejected.any(), ours.errors
    mine = ours.prediction if model.task == "regression" else ours.proba
    steps = float32_steps(mine, output)
    assert steps <= 1.0, steps
    if labels is not None:
        flips = int((ours.prediction.astype(object) != np.asarray(labels, dtype=object)).sum())
        assert flips == 0, f"{flips} labels differ from XGBoost"
    return steps


@pytest.mark.parametrize("case", list(CASES))
def test_wrapper_matches_xgboost_bit_for_bit(case):
    task, params = CASES[case]
    X, y = data(task)
    fitted = fit(task, params, X, y)
    model, doc = roundtrip(fitted, X, y)
    rows = hard_rows(X, doc_splits(doc))
    margin = fitted.predict(rows, output_margin=True)
    if hasattr(fitted, "predict_proba"):
        assert_same_as_xgboost(model, margin, fitted.predict_proba(rows), fitted.predict(rows),
                               rows)
    else:
        assert_same_as_xgboost(model, margin, fitted.predict(rows), None, rows)


@pytest.mark.parametrize("suffix", [".json", ".ubj"])
@pytest.mark.parametrize("case", ["binary:logistic-dart", "multi:softprob", "count:poisson"])
def test_model_file_read_directly(case, suffix, tmp_path, capsys):
    task, params = CASES[case]
    X, y = data(task)
    fitted = fit(task, params, X, y)
    path = tmp_path / f"model{suffix}"
    booster = fitted.get_booster()
    booster.save_model(str(path))
    X.assign(label=y).to_csv(tmp_path / "train.csv", index=False)
    out = tmp_path / "coefficients.json"
    code = main(["export", str(path), "--sample", str(tmp_path / "train.csv"), "--target",
                 "label", "--model-id", "xgb-file", "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    model = load_coefficients(out)
    # DMatrix refuses cells beyond float32's range (inplace_predict, as we, scores them).
    rows = hard_rows(X, doc_splits(json.loads(out.read_text()))).clip(-1e30, 1e30)
    loaded = xgb.Booster()
    loaded.load_model(str(path))
    dm = xgb.DMatrix(rows.to_numpy(), feature_names=loaded.feature_names)
    margin = loaded.predict(dm, output_margin=True)
    output = loaded.predict(dm)
    if task == "binary":
        output = np.column_stack([np.float32(1) - output, output])
    labels = None if task == "regression" else np.argmax(output, axis=1)
    assert_same_as_xgboost(model, margin, output, labels, rows)


def test_wrapper_in_a_pipeline_with_early_stopping():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = real_data("binary")
    fitted = make_pipeline(StandardScaler(), xgb.XGBClassifier(
        n_estimators=200, max_depth=3, early_stopping_rounds=5, n_jobs=1))
    fitted.fit(X, y, xgbclassifier__eval_set=[(X.to_numpy()[400:], y[400:])],
               xgbclassifier__verbose=False)
    model, doc = roundtrip(fitted, X, y)
    assert len(doc["estimator"]["trees"]) == fitted[-1].best_iteration + 1
    ours = model.predict(X)
    assert float32_steps(ours.proba, fitted.predict_proba(X)) <= 1.0
    assert (ours.prediction.astype(int) == fitted.predict(X)).all()


@pytest.mark.parametrize(("params", "what"), [
    ({"objective": "reg:quantileerror", "quantile_alpha": 0.5}, "reg:quantileerror"),
    ({"booster": "gblinear"}, "gblinear"),
])
def test_unsupported_is_refused_at_export_naming_it(params, what, tmp_path, capsys):
    X, y = real_data("regression")
    fitted = fit("regression", params, X, y)
    path = tmp_path / "model.json"
    fitted.get_booster().save_model(str(path))
    X.assign(label=y).to_csv(tmp_path / "train.csv", index=False)
    code = main(["export", str(path), "--sample", str(tmp_path / "train.csv"), "--target",
                 "label", "--model-id", "xgb-bad", "-o", str(tmp_path / "c.json")])
    assert code == 2
    assert what in capsys.readouterr().err
    assert not (tmp_path / "c.json").exists()
