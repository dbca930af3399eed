"""The now-test of regression and multiclass models (the demo is binary): the metrics of their
task equal scikit-learn's, prediction drift is measured on what they predict, and a maximum
(error metrics) is judged the other way round."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import mean_absolute_error, r2_score, roc_auc_score

from engine.formats.requirements import parse_requirements
from engine.nowtest.run import run_nowtest
from tests.engine.conftest import roundtrip

FEATURES = ["x0", "x1", "x2"]


def cases_with_reference(X: pd.DataFrame, y) -> bytes:
    """regression_cases.csv holding only a labelled reference sample."""
    ref = X.map(lambda v: repr(float(v)))
    ref["expected"], ref["tolerance"], ref["kind"] = "", "", "reference"
    ref["note"], ref["source"], ref["label"] = "", "test", [str(v) for v in y]
    return ref.to_csv(index=False).encode()


def data(rng, n, shift=0.0):
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=FEATURES)
    X["x0"] += shift
    return X


def test_regression_model(tmp_path):
    rng = np.random.default_rng(1)
    X = data(rng, 2000)
    y = 2 * X["x0"] - X["x1"] + rng.normal(0, 0.3, 2000)
    fitted = LinearRegression().fit(X[:1000], y[:1000])
    model = roundtrip(fitted, X[:1000], y[:1000], target="y")[0]
    members = {"regression_cases.csv": cases_with_reference(X[1000:], y[1000:])}
    reqs = parse_requirements(b'{"format": "ratchet-requirements/1", "metrics": '
                              b'[{"metric": "mae", "max": 0.2}]}')
    current = data(rng, 3000, shift=2.0)
    truth = 2 * current["x0"] - current["x1"] + rng.normal(0, 0.3, 3000)
    path = tmp_path / "current.csv"
    current.assign(y=truth).to_csv(path, index=False)
    result = run_nowtest(path, model, "test-model@1", members, reqs)
    expected = fitted.predict(current)
    assert result.metrics["mae"] == pytest.approx(mean_absolute_error(truth, expected),
                                                  abs=1e-12)
    assert result.metrics["r2"] == pytest.approx(r2_score(truth, expected), abs=1e-12)
    assert result.estimate is None and result.calibrated is False
    assert [d.feature for d in result.drift if d.drifted] == ["x0"]
    assert result.prediction_drift.test == "wasserstein" and result.prediction_drift.drifted
    metric = next(r for r in result.reasons if r.kind == "metric")
    assert "mae" in metric.message and "above the maximum 0.2" in metric.message
    assert result.out_of_range["x0"] > 0.05  # shifted beyond the training sample's range


def test_multiclass_model(tmp_path):
    rng = np.random.default_rng(2)
    X = data(rng, 3000)
    y = np.digitize(X["x0"] + 0.5 * X["x1"] + rng.normal(0, 0.5, 3000), [-0.5, 0.5])
    fitted = LogisticRegression().fit(X[:1000], y[:1000])
    model = roundtrip(fitted, X[:1000], y[:1000], target="y")[0]
    members = {"regression_cases.csv": cases_with_reference(X[1000:], y[1000:])}
    reqs = parse_requirements(b'{"format": "ratchet-requirements/1", "metrics": '
                              b'[{"metric": "accuracy", "min": 0.5}]}')
    current = data(rng, 600, shift=1.5)  # a small file: p-value tests
    path = tmp_path / "current.csv"
    current.to_csv(path, index=False)
    result = run_nowtest(path, model, "test-model@1", members, reqs)
    assert result.metrics is None
    assert result.prediction_drift.test == "chi2" and result.prediction_drift.drifted
    assert set(result.estimate) == {"accuracy", "precision", "recall", "f1", "roc_auc",
                                    "log_loss", "brier"}
    proba = fitted.predict_proba(current)
    # a well-specified model passes the calibration check: accuracy = mean top probability
    assert not result.calibrated
    assert result.estimate["accuracy"] == pytest.approx(proba.max(axis=1).mean(), abs=1e-12)
    # with labels: scikit-learn's one-vs-rest macro roc_auc
    truth = np.digitize(current["x0"] + 0.5 * current["x1"] + rng.normal(0, 0.5, 600),
                        [-0.5, 0.5])
    current.assign(y=truth).to_csv(path, index=False)
    labelled = run_nowtest(path, model, "test-model@1", members, reqs)
    assert labelled.metrics["roc_auc"] == pytest.approx(
        roc_auc_score(truth, proba, multi_class="ovr"), abs=1e-12)
    assert "false_positive_rate" not in labelled.metrics
