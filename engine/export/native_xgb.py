"""Publisher side: an XGBoost model file (.json, or .ubj read by our own strict UBJSON reader)
-> NativeModel (see native.py). Its DART trees are exported as Booster.predict weighs them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from engine.errors import InputError, UnsupportedModel
from engine.export import xgb
from engine.export.native import NativeModel
from engine.export.ubjson import UbjsonError, loads


def _library_output(booster, matrix: np.ndarray, missing: float = np.nan) -> np.ndarray:
    import xgboost

    types = booster.feature_types
    return booster.predict(xgboost.DMatrix(matrix, missing=missing, feature_types=types,
                                           enable_categorical=bool(types and "c" in types),
                                           feature_names=booster.feature_names))


def read_document(path: Path) -> dict:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the XGBoost model {path}: {exc.strerror}.") from exc
    try:
        doc = loads(data) if path.suffix.lower() == ".ubj" else json.loads(data)
    except (UbjsonError, ValueError) as exc:
        raise UnsupportedModel(f"{path} is not an XGBoost model saved with save_model: "
                               f"{exc}.") from exc
    if not (isinstance(doc, dict) and isinstance(doc.get("learner"), dict)
            and isinstance(doc.get("version"), list)):
        raise UnsupportedModel(f"{path} is not an XGBoost model saved with save_model (it has "
                               "no learner and version).")
    return doc


def load_xgboost(path: Path) -> NativeModel:
    doc = read_document(path)
    try:
        task = xgb.objective_task(doc)
        learner = doc["learner"]
        names = [str(n) for n in learner.get("feature_names", [])]
        n_features = int(learner["learner_model_param"]["num_feature"])
        if task == "multiclass" and learner["objective"]["name"] == "multi:softmax":
            raise xgb.unsupported("multi:softmax in a model file (its Booster.predict gives "
                                  "labels, not probabilities to check against; export the "
                                  "XGBClassifier, or train with multi:softprob)")
    except (KeyError, TypeError, ValueError) as exc:
        raise UnsupportedModel(f"{path} is not an XGBoost model Ratchet can read: {exc!r}.",
                               code="E_UNSUPPORTED_MODEL") from exc
    version = "xgboost " + ".".join(str(v) for v in doc["version"])

    def convert(classes):
        # The file does not record the `missing` value the model was trained and predicts
        # with: the publisher states it at export (`--missing VALUE`); NaN when not given.
        out = xgb.convert(doc, classes, dart_inplace=False)
        out["steps"] = xgb.missing_steps(native.missing)
        if out["steps"] and out["categorical"]:
            raise xgb.unsupported("categorical features together with a non-NaN missing value")
        return out

    native = NativeModel("xgboost", path, task, names, convert, version, n_features,
                         _library_output)
    return native
