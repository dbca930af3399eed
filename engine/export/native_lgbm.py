"""Publisher side: a LightGBM text model file -> NativeModel (see native.py)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from engine.errors import InputError
from engine.export import lgbm
from engine.export.lgbm_text import parse_lightgbm_text
from engine.export.native import NativeModel

UNNAMED = re.compile(r"Column_\d+")


def _library_output(booster, matrix: np.ndarray) -> np.ndarray:
    return booster.predict(matrix)


def load_lightgbm(path: Path) -> NativeModel:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the LightGBM model {path}: {exc}.") from exc
    model = parse_lightgbm_text(text)
    if model.objective not in lgbm.OBJECTIVES:
        raise lgbm.unsupported(f"the objective {model.objective!r}")
    task = lgbm.OBJECTIVES[model.objective][0]
    if task == "binary" and model.num_class != 1:
        raise lgbm.unsupported(f"a binary objective with num_class={model.num_class}")
    names = model.feature_names
    # Trained on an array, LightGBM names the features Column_0, Column_1...: then the sample's
    # columns are taken in order.
    if all(UNNAMED.fullmatch(n) for n in names):
        names = []
    version = "lightgbm " + model.parameters.get("version", "4")
    try:
        import lightgbm as library

        version = f"lightgbm {library.__version__}"
    except ImportError:
        pass
    return NativeModel("lightgbm", path, task, names, lambda classes: lgbm.convert(model, classes),
                       version, len(model.feature_names), _library_output)
