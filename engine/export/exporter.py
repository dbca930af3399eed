"""Publisher side: a fitted scikit-learn model + its training sample -> a coefficient file.

The exporter checks its own work before it writes anything: the exported file is loaded by the
workstation's loader and must reproduce scikit-learn's predictions on the sample.
"""

from __future__ import annotations

import importlib
import platform
import warnings

import numpy as np
import pandas as pd

from engine import __version__
from engine.errors import EngineError, InputError
from engine.export.categorical import category_steps, library_view
from engine.export.estimators import export_estimator
from engine.export.means import add_training_means
from engine.export.native import NativeModel, match_columns
from engine.export.schema import checked_markers, feature_schema, probe_missing
from engine.export.transformers import export_transformer
from engine.ground.clock import build_time
from engine.model import FORMAT, load_coefficients
from engine.model.categories import CATEGORY
from engine.model.markers import DEFAULT_MARKERS

SELF_CHECK_ROWS = 2000
SELF_CHECK_TOLERANCE = 1e-9


def split_pipeline(model) -> tuple[list, object]:
    """The preprocessing steps in front of the final estimator, and that estimator."""
    if type(model).__name__ == "Pipeline":
        steps = [s for _, s in model.steps]
        return [s for s in steps[:-1] if s not in ("passthrough", None)], steps[-1]
    return [], model


def feature_names(model, sample: pd.DataFrame, target: str) -> list[str]:
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    names = [c for c in sample.columns if c != target]
    n_in = getattr(model, "n_features_in_", len(names))
    if n_in != len(names):
        raise InputError(
            f"the model was trained on {n_in} unnamed columns but the sample has {len(names)} "
            "besides the target; train on a DataFrame (so the model knows its column names) or "
            "give a sample with exactly the training columns in training order.")
    return names


def export_model(model, sample: pd.DataFrame, target: str, model_id: str,
                 missing_markers: tuple[str, ...] = DEFAULT_MARKERS) -> dict:
    """Build, validate and self-check the coefficient document for a fitted model.
    `missing_markers`: the texts the operator's files write for a missing value."""
    if target not in sample.columns:
        raise InputError(f"the sample has no target column {target!r}; its columns are "
                         f"{', '.join(map(repr, sample.columns))}.", code="E_MISSING_COLUMN")
    names = feature_names(model, sample, target)
    # The operator's CSV keeps its own header: the model's names (LightGBM's with spaces made
    # '_') are matched to the sample's columns; the library is fed its own names.
    columns = match_columns(names, [c for c in sample.columns if c != target])
    X = sample[columns].set_axis(names, axis=1)
    if isinstance(model, NativeModel):
        model.set_classes(sample[target])
    pre, estimator = split_pipeline(model)
    inputs = [feature_schema(sample[c]) for c in columns]
    kinds = [f["type"] for f in inputs]
    steps = []
    for step in pre:
        new, kinds = export_transformer(step, kinds)
        steps.extend(new)
    est = export_estimator(estimator)
    # XGBoost / LightGBM categorical features: the category -> the code the model splits on.
    categorical = est.get("categorical") or []
    if pre and any(cats is not None for _, cats in categorical):
        raise EngineError("pandas categorical features behind preprocessing steps cannot be "
                          "exported; give the categorical model without the Pipeline.",
                          "E_UNSUPPORTED_MODEL")
    if not pre:
        new, kinds = category_steps(categorical, inputs, est.get("unknown_category"))
        steps.extend(new)
    if CATEGORY in kinds:
        raise EngineError("text columns reach the estimator without an encoder; put a "
                          "OneHotEncoder or OrdinalEncoder in front of it.", "E_UNSUPPORTED_MODEL")
    steps.extend(est.get("steps", []))  # e.g. XGBoost's `missing` value, right before it
    markers = checked_markers(missing_markers, inputs, steps)
    uses_names = hasattr(model, "feature_names_in_")
    view = library_view(categorical, names)
    for feature, allowed in zip(inputs, probe_missing(model, X, uses_names, view), strict=True):
        feature["missing"] = allowed
    doc = {
        "format": FORMAT,
        "model_id": model_id,
        "task": est["task"],
        "target": target,
        **({"classes": est["classes"]} if "classes" in est else {}),
        "inputs": inputs,
        "missing_markers": markers,
        "preprocessing": steps,
        "estimator": est["estimator"],
        "link": est["link"],
        "decision": est["decision"],
        "provenance": _provenance(model, len(sample)),
    }
    add_training_means(doc, sample[columns].set_axis([f["name"] for f in inputs], axis=1))
    self_check(doc, model, view(X), uses_names, sample[columns])
    return doc


def _library(model) -> str:
    if isinstance(model, NativeModel):
        return model.library_version
    import sklearn  # publisher side only

    names = [f"scikit-learn {sklearn.__version__}"]
    top = type(split_pipeline(model)[1]).__module__.split(".")[0]
    if top in {"lightgbm", "xgboost"}:
        library = importlib.import_module(top)
        names.append(f"{top} {library.__version__}")
    return ", ".join(names)


def _provenance(model, n_rows: int) -> dict:
    return {
        "exported_by": f"ratchet {__version__}",
        "exported_at": build_time().isoformat(),
        "library": _library(model),
        "python": platform.python_version(),
        "estimator": type(model).__name__,
        "steps": [type(s).__name__ for s in split_pipeline(model)[0]]
        + [type(split_pipeline(model)[1]).__name__],
        "sample_rows": n_rows,
    }


def _float32_ulps(ours: np.ndarray, theirs: np.ndarray) -> float:
    """The largest difference in units of float32 spacing at the library's value."""
    spacing = np.spacing(np.abs(theirs).astype(np.float32)).astype(np.float64)
    return float((np.abs(ours - theirs) / spacing).max())


def self_check(doc: dict, model, X: pd.DataFrame, uses_names: bool,
               csv_rows: pd.DataFrame | None = None) -> None:
    """Refuse to export a file that does not reproduce the library on the sample: to
    SELF_CHECK_TOLERANCE, or for float32 models (XGBoost) to one float32 step."""
    ours = load_coefficients(doc, name="exported coefficients")
    rows = X.iloc[:SELF_CHECK_ROWS]
    result = ours.predict(rows if csv_rows is None else csv_rows.iloc[:SELF_CHECK_ROWS])
    ok = ~result.rejected
    if not ok.any():
        return
    feed = rows[ok] if uses_names else rows[ok].to_numpy()
    in_float32 = doc["estimator"].get("accumulate") == "float32"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if ours.task == "regression":
            theirs = np.asarray(model.predict(feed), dtype=np.float64)
            mine = result.prediction[ok]
            flips = 0
        else:
            theirs = np.asarray(model.predict_proba(feed), dtype=np.float64)
            mine = result.proba[ok]
            labels = np.asarray(model.predict(feed)).astype(object)
            flips = int((labels != result.prediction[ok].astype(object)).sum())
    if in_float32:
        ulps = _float32_ulps(mine, theirs)
        bad, shown = not ulps <= 1.0, f"{ulps:.3g} float32 steps"
    else:
        diff = np.abs(theirs - mine).max()
        bad, shown = not diff <= SELF_CHECK_TOLERANCE, f"{diff:.3g}"
    if bad or flips:
        raise EngineError(
            f"the exported coefficients do not reproduce the model's own library on the sample "
            f"(largest difference {shown}, {flips} different labels); nothing was written. "
            "Please report this with the model file.", "E_EXPORT_MISMATCH")
