"""Publisher side: a fitted scikit-learn model + its training sample -> a coefficient file.

The exporter checks its own work before it writes anything: the exported file is loaded by the
workstation's loader and must reproduce scikit-learn's predictions on the sample.
"""

from __future__ import annotations

import platform
import warnings

import numpy as np
import pandas as pd

from engine import __version__
from engine.errors import EngineError, InputError
from engine.export.estimators import export_estimator
from engine.export.schema import feature_schema, probe_missing
from engine.export.transformers import export_transformer
from engine.ground.clock import build_time
from engine.model import FORMAT, load_coefficients
from engine.model.categories import CATEGORY

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


def export_model(model, sample: pd.DataFrame, target: str, model_id: str) -> dict:
    """Build, validate and self-check the coefficient document for a fitted model."""
    if target not in sample.columns:
        raise InputError(f"the sample has no target column {target!r}; its columns are "
                         f"{', '.join(map(repr, sample.columns))}.", code="E_MISSING_COLUMN")
    names = feature_names(model, sample, target)
    absent = [n for n in names if n not in sample.columns]
    if absent:
        raise InputError(f"the model needs column(s) {', '.join(map(repr, absent))} that the "
                         "sample does not have.", code="E_MISSING_COLUMN")
    X = sample[names]
    pre, estimator = split_pipeline(model)
    inputs = [feature_schema(X[n]) for n in names]
    kinds = [f["type"] for f in inputs]
    steps = []
    for step in pre:
        new, kinds = export_transformer(step, kinds)
        steps.extend(new)
    if CATEGORY in kinds:
        raise EngineError("text columns reach the estimator without an encoder; put a "
                          "OneHotEncoder or OrdinalEncoder in front of it.", "E_UNSUPPORTED_MODEL")
    est = export_estimator(estimator)
    uses_names = hasattr(model, "feature_names_in_")
    for feature, allowed in zip(inputs, probe_missing(model, X, uses_names), strict=True):
        feature["missing"] = allowed
    doc = {
        "format": FORMAT,
        "model_id": model_id,
        "task": est["task"],
        "target": target,
        **({"classes": est["classes"]} if "classes" in est else {}),
        "inputs": inputs,
        "preprocessing": steps,
        "estimator": est["estimator"],
        "link": est["link"],
        "decision": est["decision"],
        "provenance": _provenance(model, len(sample)),
    }
    self_check(doc, model, X, uses_names)
    return doc


def _provenance(model, n_rows: int) -> dict:
    import sklearn  # publisher side only

    return {
        "exported_by": f"ratchet {__version__}",
        "exported_at": build_time().isoformat(),
        "library": f"scikit-learn {sklearn.__version__}",
        "python": platform.python_version(),
        "estimator": type(model).__name__,
        "steps": [type(s).__name__ for s in split_pipeline(model)[0]]
        + [type(split_pipeline(model)[1]).__name__],
        "sample_rows": n_rows,
    }


def self_check(doc: dict, model, X: pd.DataFrame, uses_names: bool) -> None:
    """Refuse to export a file that does not reproduce scikit-learn on the sample."""
    ours = load_coefficients(doc, name="exported coefficients")
    rows = X.iloc[:SELF_CHECK_ROWS]
    result = ours.predict(rows)
    ok = ~result.rejected
    if not ok.any():
        return
    feed = rows[ok] if uses_names else rows[ok].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if ours.task == "regression":
            theirs = np.asarray(model.predict(feed), dtype=np.float64)
            diff = np.abs(theirs - result.prediction[ok]).max()
            flips = 0
        else:
            theirs = model.predict_proba(feed)
            diff = np.abs(theirs - result.proba[ok]).max()
            flips = int((np.asarray(model.predict(feed)) != result.prediction[ok]).sum())
    if not diff <= SELF_CHECK_TOLERANCE or flips:
        raise EngineError(
            f"the exported coefficients do not reproduce scikit-learn on the sample (largest "
            f"difference {diff:.3g}, {flips} different labels); nothing was written. Please "
            "report this with the model file.", "E_EXPORT_MISMATCH")
