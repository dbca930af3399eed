"""Publisher side: the input schema, from the training sample and from the model's behaviour."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from engine.errors import InputError
from engine.model.categories import CATEGORY, NUMBER
from engine.model.markers import marker_problem

PROBE_ROWS = 20


def feature_schema(column: pd.Series) -> dict:
    """Type and observed range or categories of one sample column ("missing" comes later)."""
    name = str(column.name)
    if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
        values = column.dropna().astype(str).unique()
        return {"name": name, "type": CATEGORY, "missing": False,
                "categories": sorted(values.tolist())}
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    finite = values[np.isfinite(values)]
    rng = [float(finite.min()), float(finite.max())] if finite.size else None
    return {"name": name, "type": NUMBER, "missing": False, "range": rng}


def _encoder_categories(steps: list) -> set[str]:
    """Every text category the exported encoders (one_hot, ordinal, nested blocks) know."""
    found: set[str] = set()
    for step in steps:
        for encoder in step.get("encoders", []):
            found.update(c for c in encoder.get("categories", []) if isinstance(c, str))
        for block in step.get("blocks", []):
            found |= _encoder_categories(block.get("steps", []))
    return found


def checked_markers(markers: Sequence[str], inputs: list[dict], steps: list) -> list[str]:
    """The missing-value markers to write, or InputError (code E_MISSING_MARKERS) saying which
    marker cannot be one and why (e.g. it is a category seen in training: in the sample or by
    the model's own encoder)."""
    categories = {f"the input {f['name']!r} in the training sample": f["categories"]
                  for f in inputs if f["type"] == CATEGORY}
    categories["the model's encoder (seen in training)"] = _encoder_categories(steps)
    problem = marker_problem(list(markers), categories)
    if problem is not None:
        _, why = problem
        raise InputError(f"the missing-value markers {list(markers)!r} cannot be used: {why}. "
                         "Choose them with --missing-markers (e.g. --missing-markers ',NA').",
                         "E_MISSING_MARKERS")
    return list(markers)


def _predicts(model, frame: pd.DataFrame, uses_names: bool, view) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            frame = view(frame)
            model.predict(frame if uses_names else frame.to_numpy())
        except ValueError:
            return False
    return True


def _same(frame: pd.DataFrame) -> pd.DataFrame:
    return frame


def probe_missing(model, X: pd.DataFrame, uses_names: bool, view=_same) -> list[bool]:
    """For each column: does the model accept a missing value there? Asked of the model itself.

    A few rows the model accepts are taken, one column at a time is blanked, and the model is
    asked to predict. Pipelines with an imputer, HistGradientBoosting and trees trained with
    missing values say yes; a bare linear model says no. `view` turns a frame as the CSV reads
    it into what the model takes (e.g. pandas categoricals).
    """
    rows = X.dropna().iloc[:PROBE_ROWS]
    if rows.empty:
        rows = X.iloc[:PROBE_ROWS]
    allowed = []
    for name in X.columns:
        blank = rows.copy()
        if pd.api.types.is_numeric_dtype(blank[name]) and not pd.api.types.is_bool_dtype(
                blank[name]):
            blank[name] = np.nan
        else:
            blank[name] = pd.Series([np.nan] * len(blank), index=blank.index, dtype=object)
        allowed.append(_predicts(model, blank, uses_names, view))
    return allowed
