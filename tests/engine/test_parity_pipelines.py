"""Real pipelines (Pipeline, ColumnTransformer, scalers, imputers, encoders) reproduce
scikit-learn exactly, including missing values, unknown categories and infrequent ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import ensemble, linear_model
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, StandardScaler

from tests.engine.conftest import assert_same_as_sklearn, roundtrip

COLORS = ["red", "green", "blue", "teal", "plum", "rare1", "rare2"]
WEIGHTS = [0.3, 0.25, 0.2, 0.12, 0.1, 0.02, 0.01]


def mixed_frame(n: int, seed: int, nan_share: float = 0.1) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "a": rng.normal(10, 3, n),
        "b": rng.exponential(2.0, n),
        "c": rng.integers(0, 5, n).astype(float),
        "color": rng.choice(COLORS, n, p=WEIGHTS),
        "size": rng.choice(["S", "M", "L"], n),
    })
    logit = 0.3 * (df["a"] - 10) + 0.5 * df["b"] - 0.8 * (df["color"] == "red") + (
        df["size"] == "L")
    y = (logit + rng.normal(0, 1, n) > 0.7).astype(int).to_numpy()
    for col in ("a", "b", "color"):
        df.loc[rng.random(n) < nan_share, col] = np.nan
    return df, y


NUMERIC = ["a", "b", "c"]
CATEGORICAL = ["color", "size"]


def _pre(numeric, categorical, remainder="drop"):
    return ColumnTransformer([("num", numeric, NUMERIC), ("cat", categorical, CATEGORICAL)],
                             remainder=remainder)


PIPELINES = {
    "impute-mean-scale-onehot-ignore-logistic": lambda: make_pipeline(
        _pre(make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()),
             make_pipeline(SimpleImputer(strategy="most_frequent"),
                           OneHotEncoder(handle_unknown="ignore"))),
        linear_model.LogisticRegression(max_iter=500)),
    "impute-median-minmax-clip-onehot-drop-first": lambda: make_pipeline(
        _pre(make_pipeline(SimpleImputer(strategy="median"), MinMaxScaler(clip=True)),
             make_pipeline(SimpleImputer(strategy="constant", fill_value="none"),
                           OneHotEncoder(drop="first", handle_unknown="ignore"))),
        linear_model.LogisticRegression(max_iter=500)),
    "onehot-infrequent-forest": lambda: make_pipeline(
        _pre(SimpleImputer(strategy="median"),
             OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=0.05,
                           sparse_output=False)),
        ensemble.RandomForestClassifier(20, random_state=0)),
    "onehot-max-categories-if-binary-gb": lambda: make_pipeline(
        _pre(SimpleImputer(), make_pipeline(
            SimpleImputer(strategy="most_frequent"),
            OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=4,
                          drop="if_binary"))),
        ensemble.GradientBoostingClassifier(n_estimators=20, random_state=0)),
    "ordinal-encoded-unknown-hgb-with-nan": lambda: make_pipeline(
        _pre("passthrough",
             OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)),
        ensemble.HistGradientBoostingClassifier(max_iter=30, random_state=0)),
    "ordinal-infrequent-passthrough-remainder": lambda: make_pipeline(
        ColumnTransformer([("cat", OrdinalEncoder(handle_unknown="use_encoded_value",
                                                  unknown_value=np.nan, min_frequency=30),
                            ["color", "size"])], remainder="passthrough"),
        ensemble.HistGradientBoostingClassifier(max_iter=30, random_state=0)),
    "imputer-then-scaler-on-all-numbers": lambda: Pipeline([
        ("select", ColumnTransformer([("num", "passthrough", NUMERIC)])),
        ("impute", SimpleImputer(strategy="mean")),
        ("scale", StandardScaler(with_mean=False)),
        ("model", linear_model.Ridge())]),
}


@pytest.mark.parametrize("name", list(PIPELINES))
def test_pipeline_matches_sklearn(name):
    df, y = mixed_frame(900, seed=1)
    fitted = PIPELINES[name]().fit(df[:700], y[:700])
    model, _ = roundtrip(fitted, df[:700], y[:700])
    test = df[700:].copy()
    assert_same_as_sklearn(model, fitted, test)


def test_unknown_categories_follow_handle_unknown():
    df, y = mixed_frame(900, seed=2)
    fitted = PIPELINES["onehot-infrequent-forest"]().fit(df, y)
    model, _ = roundtrip(fitted, df, y)
    test = df[:50].copy()
    test.loc[test.index[::2], "color"] = "never-seen"  # goes to the infrequent column
    assert_same_as_sklearn(model, fitted, test)

    ignore = PIPELINES["impute-mean-scale-onehot-ignore-logistic"]().fit(df, y)
    model, _ = roundtrip(ignore, df, y)
    assert_same_as_sklearn(model, ignore, test)  # all-zero block


def test_unknown_category_is_rejected_when_the_encoder_refuses_it():
    df, y = mixed_frame(600, seed=3, nan_share=0)
    fitted = make_pipeline(
        _pre(StandardScaler(), OneHotEncoder(handle_unknown="error")),
        linear_model.LogisticRegression(max_iter=500)).fit(df, y)
    model, doc = roundtrip(fitted, df, y)
    test = df[:20].copy()
    test.loc[test.index[4], "size"] = "XXL"
    result = model.predict(test)
    assert np.flatnonzero(result.rejected).tolist() == [4]
    assert "'size'" in result.errors[4] and "'XXL'" in result.errors[4]
    assert "'L', 'M', 'S'" in result.errors[4]  # names what the model knows
    ok = ~result.rejected
    np.testing.assert_allclose(result.proba[ok], fitted.predict_proba(test[ok]), rtol=0,
                               atol=1e-12)
    # Missing where neither imputer nor estimator handles it: refused per row, named.
    assert not next(f for f in doc["inputs"] if f["name"] == "a")["missing"]
    test.loc[test.index[7], "a"] = np.nan
    result = model.predict(test)
    assert np.flatnonzero(result.rejected).tolist() == [4, 7]
    assert "'a'" in result.errors[7]


def test_schema_records_types_ranges_categories_and_missingness():
    df, y = mixed_frame(600, seed=4)
    fitted = PIPELINES["impute-mean-scale-onehot-ignore-logistic"]().fit(df, y)
    _, doc = roundtrip(fitted, df, y)
    inputs = {f["name"]: f for f in doc["inputs"]}
    assert inputs["a"]["type"] == "number"
    assert inputs["a"]["range"] == [float(df["a"].min()), float(df["a"].max())]
    assert inputs["color"]["type"] == "category"
    assert inputs["color"]["categories"] == sorted(COLORS)
    assert inputs["a"]["missing"] and inputs["color"]["missing"]  # imputed
    assert inputs["c"]["missing"]  # imputed as well (the whole numeric block is)


def test_text_numbers_are_parsed_and_bad_ones_rejected():
    df, y = mixed_frame(600, seed=5, nan_share=0)
    fitted = PIPELINES["impute-mean-scale-onehot-ignore-logistic"]().fit(df, y)
    model, _ = roundtrip(fitted, df, y)
    test = df[:10].astype({"a": object})
    test["a"] = [str(v) for v in test["a"]]
    test.loc[test.index[3], "a"] = "12,5"
    result = model.predict(test)
    assert np.flatnonzero(result.rejected).tolist() == [3]
    assert "'12,5' is not a number" in result.errors[3]
    ok = df[:10].drop(index=df.index[3])
    np.testing.assert_allclose(result.proba[~result.rejected], fitted.predict_proba(ok),
                               rtol=0, atol=1e-12)
