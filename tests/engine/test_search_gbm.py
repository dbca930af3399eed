"""`ratchet search --families xgboost,lightgbm` where the libraries are installed: a tiny
search on real flights, whose candidates reproduce our own refit of each recorded
configuration (LightGBM to 1e-12, XGBoost within one float32 step, zero label flips)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from engine.model import load_coefficients
from engine.search.families import FAMILIES
from tests.engine.test_search import (  # noqa: F401
    CATEGORICAL,
    FEATURES,
    NUMERIC,
    flights,
    ratchet_search,
    refit_from_record,
    time_sorted,
)

pytest.importorskip("xgboost")
pytest.importorskip("lightgbm")


def test_the_families_are_offered_where_installed():
    assert {"xgboost", "lightgbm"} <= set(FAMILIES)
    assert FAMILIES["xgboost"].estimator_name("binary") == "XGBClassifier"
    assert FAMILIES["lightgbm"].estimator_name("regression") == "LGBMRegressor"


def test_a_tiny_search_of_xgboost_and_lightgbm(flights, tmp_path):  # noqa: F811
    out = tmp_path / "nightly"
    code, result = ratchet_search(
        str(flights), "--target", "late", "--time-column", "time_hour", "--features", FEATURES,
        "--families", "xgboost,lightgbm", "--iterations", "4", "--folds", "2", "--top", "2",
        "--model-id", "flights-gbm", "--seed", "5", "--n-jobs", "1", "-o", str(out))
    assert code == 0, result
    record = json.loads((out / "search.json").read_text())
    assert {t["family"] for t in record["trials"]} == {"xgboost", "lightgbm"}
    df = time_sorted(flights)
    held = df.iloc[record["validation"]["refit_rows"]:].iloc[:300][NUMERIC + CATEGORICAL]
    for cand in result["candidates"]:
        model = load_coefficients(Path(cand["folder"]) / "coefficients.json")
        fitted = refit_from_record(record, cand, df, "late")
        ours = model.predict(held)
        assert not ours.rejected.any()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            theirs = fitted.predict_proba(held)
            labels = fitted.predict(held)
        diff = np.abs(ours.proba - theirs)
        if cand["family"] == "xgboost":
            spacing = np.spacing(np.abs(theirs).astype(np.float32)).astype(np.float64)
            assert (diff <= spacing).all()
        else:
            assert diff.max() <= 1e-12
        assert (ours.prediction.astype(int) == labels).all()
