"""An XGBoost or LightGBM model goes the whole way a scikit-learn model goes: the publisher
exports it (a LightGBM text model file, an XGBoost joblib wrapper), builds and signs a bundle;
the workstation imports it, predicts (equal to the library's own predict_proba), runs its
regression suite, back-tests it by month (metrics equal scikit-learn's on the library's own
probabilities) and gates a second version against it."""

from __future__ import annotations

import json

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from engine.cli import main
from engine.model import load_coefficients
from engine.search.cases import case_table

FEATURES = [f"x{i}" for i in range(5)]


def _data() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    n = 3000
    X = pd.DataFrame(rng.normal(size=(n, 5)), columns=FEATURES)
    X.loc[rng.random(n) < 0.02, "x1"] = np.nan
    y = ((X.x0 + 0.5 * X.x1.fillna(0) - X.x3 + rng.normal(0, 0.7, n)) > 0).astype(int)
    when = pd.date_range("2026-01-01", periods=n, freq="h", tz="UTC")
    frame = X.assign(when=when.strftime("%Y-%m-%dT%H:%M:%SZ"), y=y)
    return frame.iloc[:2000].reset_index(drop=True), frame.iloc[2000:].reset_index(drop=True)


def _publish(library: str, train: pd.DataFrame, folder) -> tuple[object, str]:
    """The publisher's trained model and the file `ratchet export` reads."""
    if library == "lightgbm":
        import lightgbm as lgb

        fitted = lgb.LGBMClassifier(n_estimators=40, num_leaves=15, verbose=-1)
        fitted.fit(train[FEATURES], train["y"])
        path = folder / "model.txt"
        fitted.booster_.save_model(str(path))
    else:
        import xgboost as xgb

        fitted = xgb.XGBClassifier(n_estimators=40, max_depth=4, n_jobs=1)
        fitted.fit(train[FEATURES], train["y"])
        path = folder / "model.joblib"
        joblib.dump(fitted, path)
    return fitted, str(path)


def _cli(capsys, *argv) -> tuple[int, dict]:
    code = main(["--json", *argv])
    out = capsys.readouterr().out
    return code, (json.loads(out) if out.strip() else {})


@pytest.mark.parametrize("library", ["lightgbm", "xgboost"])
def test_a_gbm_model_is_published_imported_scored_regressed_backtested_and_gated(
        tmp_path, capsys, monkeypatch, library):
    monkeypatch.setenv("RATCHET_TRUST_STORE", str(tmp_path / "trust.json"))
    ws = ["--workspace", str(tmp_path / "ws")]
    train, held = _data()
    pub = tmp_path / "pub"
    pub.mkdir()
    fitted, model_file = _publish(library, train, pub)
    train[[*FEATURES, "y"]].to_csv(pub / "train.csv", index=False)
    held.to_csv(tmp_path / "held.csv", index=False)

    code, _ = _cli(capsys, "export", model_file, "--sample", str(pub / "train.csv"),
                   "--target", "y", "--model-id", f"gbm-{library}", "-o",
                   str(pub / "coefficients.json"))
    assert code == 0
    ours = load_coefficients((pub / "coefficients.json").read_bytes())
    (pub / "regression_cases.csv").write_bytes(case_table(
        fitted, ours, train, held, FEATURES, [], "y", [0, 1], 500, 0, "test"))
    (pub / "requirements.json").write_text(json.dumps(
        {"format": "ratchet-requirements/1", "metrics": [{"metric": "roc_auc", "min": 0.7}]}))
    assert main(["keys", "generate", "--out", str(pub)]) == 0
    capsys.readouterr()
    bundles = []
    for version in (1, 2):
        out = pub / f"v{version}.ratchet"
        code, _ = _cli(capsys, "bundle", "build", "--coefficients",
                       str(pub / "coefficients.json"), "--requirements",
                       str(pub / "requirements.json"), "--cases",
                       str(pub / "regression_cases.csv"), "--version", str(version), "--key",
                       str(pub / "publisher.key"), "-o", str(out))
        assert code == 0
        bundles.append(str(out))

    assert _cli(capsys, *ws, "trust", "add", str(pub / "publisher.pub"), "--models",
                "gbm-*")[0] == 0
    code, imported = _cli(capsys, *ws, "models", "import", bundles[0])
    assert code == 0 and imported["status"] == "installed"

    code, result = _cli(capsys, *ws, "predict", str(tmp_path / "held.csv"), "-o",
                        str(tmp_path / "out.csv"))
    assert code == 0 and result["ok"] == len(held)
    out = pd.read_csv(tmp_path / "out.csv")
    theirs = fitted.predict_proba(held[FEATURES])[:, 1]
    if library == "lightgbm":  # float64 throughout: equal to the last bit in practice
        np.testing.assert_allclose(out["proba_1"], theirs, rtol=0, atol=1e-12)
    else:  # XGBoost works in float32: within one float32 step
        steps = np.abs(out["proba_1"].to_numpy(np.float32).view(np.int32)
                       - theirs.astype(np.float32).view(np.int32))
        assert steps.max() <= 1
    assert (out["prediction"].to_numpy() == fitted.predict(held[FEATURES])).all()

    code, suite = _cli(capsys, *ws, "regress")
    assert code == 0 and suite["passed"] and suite["cases"]["failed"] == 0

    code, backtest = _cli(capsys, *ws, "backtest", str(tmp_path / "held.csv"), "--time-column",
                          "when", "--by", "month")
    assert code == 0, backtest
    months = pd.to_datetime(held["when"]).dt.strftime("%Y-%m")
    for part in backtest["partitions"]:
        rows = (months == part["partition"]).to_numpy()
        expected = roc_auc_score(held["y"][rows], out["proba_1"][rows])
        assert part["rows"] == rows.sum()
        assert abs(part["metrics"]["roc_auc"] - expected) <= 1e-12

    code, gate = _cli(capsys, *ws, "gate", bundles[1], "--corpus", str(tmp_path / "held.csv"),
                      "--time-column", "when", "--margin", "0")
    assert code == 0 and gate["verdict"] == "accept", gate["reasons"]
