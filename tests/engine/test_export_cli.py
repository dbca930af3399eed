"""`ratchet export` end to end, as a publisher runs it: a joblib file and a training CSV in,
a coefficient file out; refusals exit 2 with one clear paragraph and write nothing."""

from __future__ import annotations

import json
import subprocess
import sys

import joblib
import numpy as np
import pytest
from sklearn import ensemble, svm
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from engine.cli import main
from engine.model import load_coefficients
from tests.engine.conftest import assert_same_as_sklearn, frame


@pytest.fixture
def trained(tmp_path):
    rng = np.random.default_rng(0)
    X = frame(rng.normal(size=(400, 5)))
    y = (X["x0"] + X["x1"] ** 2 > 1).astype(int)
    sample = X.assign(label=y)
    sample.to_csv(tmp_path / "train.csv", index=False)
    return tmp_path, X, y


def _export(tmp_path, model, *extra):
    joblib.dump(model, tmp_path / "model.joblib")
    return main(["export", str(tmp_path / "model.joblib"), "--sample", str(tmp_path / "train.csv"),
                 "--target", "label", "--model-id", "demo-test", "-o",
                 str(tmp_path / "coefficients.json"), *extra])


def test_export_writes_a_file_that_reproduces_sklearn(trained, capsys):
    tmp_path, X, y = trained
    fitted = make_pipeline(StandardScaler(), ensemble.HistGradientBoostingClassifier(
        max_iter=20)).fit(X, y)
    assert _export(tmp_path, fitted) == 0
    out = capsys.readouterr().out
    assert "model_id: demo-test" in out and "task: binary" in out
    doc = json.loads((tmp_path / "coefficients.json").read_text())
    assert doc["format"] == "ratchet-coefficients/1" and doc["model_id"] == "demo-test"
    assert [f["name"] for f in doc["inputs"]] == list(X.columns)
    model = load_coefficients(tmp_path / "coefficients.json")
    assert_same_as_sklearn(model, fitted, X)


def test_json_result(trained, capsys):
    tmp_path, X, y = trained
    fitted = ensemble.RandomForestClassifier(5, random_state=0).fit(X, y)
    joblib.dump(fitted, tmp_path / "model.joblib")
    code = main(["--json", "export", str(tmp_path / "model.joblib"), "--sample",
                 str(tmp_path / "train.csv"), "--target", "label", "--model-id", "m", "-o",
                 str(tmp_path / "c.json")])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["trees"] == 5 and result["estimator"] == "trees"


@pytest.mark.parametrize(("model", "named"), [
    (svm.SVC(), "SVC"),
    (make_pipeline(PolynomialFeatures(), ensemble.RandomForestClassifier(3)),
     "PolynomialFeatures"),
])
def test_unsupported_model_exits_2_naming_it_and_listing_what_is(trained, capsys, model, named):
    tmp_path, X, y = trained
    model.fit(X, y)
    assert _export(tmp_path, model) == 2
    err = capsys.readouterr().err
    assert named in err and "Supported" in err
    assert "HistGradientBoosting" in err and "OrdinalEncoder" in err  # lists what is supported
    assert "Traceback" not in err
    assert not (tmp_path / "coefficients.json").exists()


def test_bad_inputs_exit_2_and_write_nothing(trained, capsys):
    tmp_path, X, y = trained
    fitted = ensemble.RandomForestClassifier(3, random_state=0).fit(X, y)
    joblib.dump(fitted, tmp_path / "model.joblib")
    base = ["export", str(tmp_path / "model.joblib"), "--sample", str(tmp_path / "train.csv"),
            "--model-id", "m", "-o", str(tmp_path / "c.json")]
    assert main([*base, "--target", "nope"]) == 2
    assert "no target column 'nope'" in capsys.readouterr().err
    (tmp_path / "junk.joblib").write_bytes(b"not a pickle")
    assert main([*base[:1], str(tmp_path / "junk.joblib"), *base[2:], "--target", "label"]) == 2
    assert "joblib.dump" in capsys.readouterr().err
    assert main([*base[:-1], str(tmp_path / "missing" / "c.json"), "--target", "label"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "c.json").exists()


def test_usage_errors_exit_2_without_traceback():
    proc = subprocess.run([sys.executable, "-m", "engine.cli", "export"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert "required" in proc.stderr and "Traceback" not in proc.stderr
