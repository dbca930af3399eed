"""Publisher side: a library's own model file (LightGBM .txt; XGBoost .json / .ubj), read
directly, never unpickled, and dressed like a fitted scikit-learn model for the exporter:
`feature_names_in_`, `classes_` (from the sample's target), `predict`, `predict_proba`.

The library itself is needed only to check the export (the exporter compares our predictions
with the library's on the sample before it writes anything); reading the file needs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.errors import InputError

INSTALL = {"lightgbm": "lightgbm", "xgboost": "xgboost"}


def require_library(library: str, path: Path) -> None:
    """The export checks itself against the library: refuse clearly (exit 2) without it."""
    import importlib.util

    if importlib.util.find_spec(library) is None:
        raise InputError(
            f"{path} is a {library} model; exporting it needs {library} installed, because "
            f"the export is checked against {library}'s own predictions before anything is "
            f"written. Install the publisher extra (`pip install 'ratchet[publish]'`) or "
            f"`pip install {INSTALL[library]}`, then export again.", "E_PUBLISH_EXTRA")


@dataclass(slots=True)
class NativeModel:
    library: str  # "lightgbm" | "xgboost"
    path: Path
    task: str  # from the objective
    names: list[str]  # feature names as the model stores them ([] when it has none)
    convert: Callable[[list | None], dict]  # classes -> the estimator part of the document
    library_version: str
    n_features_in_: int
    proba_of: Callable[[Any, np.ndarray], np.ndarray] = field(repr=False)  # library check
    classes_: list | None = None
    missing: float | None = None  # XGBoost: the `missing` value given at export (NaN: None)

    @property
    def feature_names_in_(self) -> list[str] | None:
        return self.names or None

    def set_classes(self, target: pd.Series) -> None:
        if self.task == "regression":
            return
        values = target.dropna().unique().tolist()
        self.classes_ = sorted(v.item() if hasattr(v, "item") else v for v in values)

    def _booster(self):
        if self.library == "lightgbm":
            import lightgbm

            return lightgbm.Booster(model_file=str(self.path))
        import xgboost

        booster = xgboost.Booster()
        booster.load_model(str(self.path))
        return booster

    def _library_output(self, X) -> np.ndarray:
        if isinstance(X, pd.DataFrame):  # pandas categoricals -> their codes, missing as NaN
            X = X.apply(lambda c: c.cat.codes.where(c.cat.codes >= 0) if isinstance(
                c.dtype, pd.CategoricalDtype) else c)
        matrix = X.to_numpy(dtype=np.float64) if hasattr(X, "to_numpy") else np.asarray(X)
        if self.missing is not None:
            return self.proba_of(self._booster(), matrix, self.missing)
        return self.proba_of(self._booster(), matrix)

    def predict_proba(self, X) -> np.ndarray:
        out = self._library_output(X)
        return np.column_stack([1.0 - out, out]) if out.ndim == 1 else out

    def predict(self, X) -> np.ndarray:
        out = self._library_output(X)
        if self.task == "regression":
            return out
        proba = np.column_stack([1.0 - out, out]) if out.ndim == 1 else out
        return np.asarray(self.classes_, dtype=object)[np.argmax(proba, axis=1)]


def match_columns(names: list[str], columns: list[str]) -> list[str]:
    """The sample's column for each of the model's feature names: the same name, or the one
    LightGBM would have renamed to it (spaces become '_'). Refuses ambiguous matches."""
    out = []
    for name in names:
        if name in columns:
            out.append(name)
            continue
        found = [c for c in columns if str(c).replace(" ", "_") == name]
        if len(found) > 1:
            raise InputError(f"the model's feature {name!r} matches several sample columns "
                             f"({', '.join(map(repr, found))}); rename one of them.",
                             code="E_MISSING_COLUMN")
        if not found:
            raise InputError(f"the model needs column(s) {name!r} that the sample does not "
                             "have.", code="E_MISSING_COLUMN")
        out.append(found[0])
    return out
