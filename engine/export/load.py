"""Publisher side: reading the publisher's own trained model and training sample.

joblib (pickle) is loaded only here, from a file the publisher made, never from a bundle or a
workspace.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from engine.errors import InputError, UnsupportedModel

NATIVE_SUFFIXES = {".txt": "lightgbm", ".json": "xgboost", ".ubj": "xgboost"}


def native_kind(path: Path) -> str | None:
    """'lightgbm' / 'xgboost' for a library's own model file, None for anything else."""
    kind = NATIVE_SUFFIXES.get(path.suffix.lower())
    if kind == "lightgbm":
        with path.open("rb") as f:
            return kind if f.read(5).rstrip(b"\r\n") == b"tree" else None
    return kind


def load_native(path: Path):
    """Read the file (no library needed), then insist on the library for the self-check."""
    from engine.export.native import require_library

    kind = native_kind(path)
    if kind == "lightgbm":
        from engine.export.native_lgbm import load_lightgbm

        model = load_lightgbm(path)
    elif kind == "xgboost":
        from engine.export.native_xgb import load_xgboost

        model = load_xgboost(path)
    else:
        model = None
    if model is not None:
        require_library(model.library, path)
        return model
    raise UnsupportedModel(f"{path} is not a LightGBM .txt or XGBoost .json / .ubj model.")


def load_publisher_model(path: Path, missing: float | None = None):
    """A library's own model file (read directly), or a joblib file. `missing`: the value an
    XGBoost model file was trained with as XGBoost's `missing` parameter (the file lacks it)."""
    if not path.is_file():
        raise InputError(f"the model file {path} does not exist or is not a file.")
    if missing is not None and math.isnan(missing):
        missing = None
    if native_kind(path) == "xgboost":
        model = load_native(path)
        model.missing = missing
        return model
    if missing is not None:
        raise InputError("--missing applies only to an XGBoost .json / .ubj model file (an "
                         "XGBClassifier / XGBRegressor saved with joblib keeps its own "
                         "`missing`).", "E_USAGE")
    if native_kind(path):
        return load_native(path)
    try:
        import joblib
    except ImportError as exc:
        raise InputError("exporting needs scikit-learn and joblib: install the publisher extra "
                         "with `pip install 'ratchet[publish]'`.", "E_PUBLISH_EXTRA") from exc
    try:
        return joblib.load(path)
    except Exception as exc:  # any unpickling failure means the same thing to the publisher
        raise InputError(f"{path} is not a model saved with joblib.dump ({type(exc).__name__}: "
                         f"{exc}); save the fitted estimator or pipeline with joblib.dump and "
                         "try again.") from exc


def read_sample(path: Path, missing_markers: tuple[str, ...] = ()) -> pd.DataFrame:
    """The training sample; pandas' usual missing values (the empty cell, NA, NaN, ...) and
    the chosen `missing_markers` are read as missing."""
    if not path.is_file():
        raise InputError(f"the sample file {path} does not exist or is not a file.")
    try:
        frame = pd.read_csv(path, na_values=[m for m in missing_markers if m] or None)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"the sample {path} cannot be read as CSV ({exc}); give the training "
                         "data as a UTF-8 comma-separated file with a header row.") from exc
    if frame.empty:
        raise InputError(f"the sample {path} has no data rows; give the training data.")
    return frame
