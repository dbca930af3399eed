"""`ratchet export` of the libraries' own model files: without the library installed it exits
2 with one clear paragraph (the export checks itself against the library); an XGBoost model
file does not record the `missing` value it was trained with, so `--missing VALUE` states it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from engine.cli import main
from engine.model import load_coefficients
from tests.engine.gbm_kit import real_data

HIDE = ("import sys; sys.modules['lightgbm'] = None; sys.modules['xgboost'] = None; "
        "from engine.cli import main; sys.exit(main(sys.argv[1:]))")


def _files(tmp_path, X, y):
    X.assign(label=y).to_csv(tmp_path / "train.csv", index=False)
    return ["--sample", str(tmp_path / "train.csv"), "--target", "label", "--model-id", "m",
            "-o", str(tmp_path / "c.json")]


@pytest.mark.parametrize("library", ["lightgbm", "xgboost"])
def test_without_the_library_export_exits_2_saying_what_to_install(library, tmp_path):
    lib = pytest.importorskip(library)
    X, y = real_data("binary")
    if library == "lightgbm":
        path = tmp_path / "model.txt"
        lib.LGBMClassifier(n_estimators=3, verbose=-1).fit(X, y).booster_.save_model(str(path))
    else:
        path = tmp_path / "model.ubj"
        lib.XGBClassifier(n_estimators=3, n_jobs=1).fit(X, y).get_booster().save_model(
            str(path))
    proc = subprocess.run([sys.executable, "-c", HIDE, "export", str(path),
                           *_files(tmp_path, X, y)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"needs {library} installed" in proc.stderr and "pip install" in proc.stderr
    assert not (tmp_path / "c.json").exists()


def test_missing_value_of_an_xgboost_model_file(tmp_path, capsys):
    xgb = pytest.importorskip("xgboost")
    X, y = real_data("regression")
    X = X.fillna(0.0)
    X.iloc[::7, 3] = -999.0  # the publisher's "missing" marker
    fitted = xgb.XGBRegressor(n_estimators=20, max_depth=4, n_jobs=1, missing=-999.0).fit(X, y)
    path = tmp_path / "model.json"
    fitted.get_booster().save_model(str(path))
    args = _files(tmp_path, X, y)
    assert main(["export", str(path), *args, "--missing", "-999"]) == 0, capsys.readouterr().err
    model = load_coefficients(tmp_path / "c.json")
    booster = xgb.Booster()
    booster.load_model(str(path))
    rows = X.copy()
    rows.iloc[::5, 0] = -999.0
    rows.iloc[::3, 2] = np.nan
    theirs = booster.predict(xgb.DMatrix(rows.to_numpy(), missing=-999.0,
                                         feature_names=booster.feature_names))
    ours = model.predict(rows)
    assert not ours.rejected.any()
    assert ours.prediction.astype(np.float32).tobytes() == theirs.tobytes()
    # As the wrapper itself predicts (inplace, its own missing): the same.
    assert ours.prediction.astype(np.float32).tobytes() == fitted.predict(rows).tobytes()


def test_missing_is_refused_for_other_model_files(tmp_path, capsys):
    lgb = pytest.importorskip("lightgbm")
    X, y = real_data("binary")
    path = tmp_path / "model.txt"
    lgb.LGBMClassifier(n_estimators=3, verbose=-1).fit(X, y).booster_.save_model(str(path))
    assert main(["export", str(path), *_files(tmp_path, X, y), "--missing", "0"]) == 2
    assert "--missing applies only to an XGBoost" in capsys.readouterr().err
    assert not (tmp_path / "c.json").exists()
