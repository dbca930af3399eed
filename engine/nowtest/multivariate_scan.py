"""Multivariate drift in a now-test: the fit on the bundle's reference rows (cached per
reference), and the category inputs of the current file as one-hot codes, collected on the
now-test's own pass over the file (a ChunkObserver beside the scan) so the file is read once.

The reference rows are all the bundle's reference rows whose fields parse (the data, as the
univariate drift of the current file counts rows the model refuses: drift is about the data,
not the model)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

import numpy as np

from engine.batch.scan import ChunkObserver, ScannedChunk
from engine.model import Model, Prediction
from engine.model.categories import NUMBER
from engine.model.rows import parse_numbers
from engine.nowtest.multivariate import Fit, MultivariateDrift, category_codes, fit_reference

_CACHE: dict[tuple, Fit | None] = {}
_LOCK = threading.Lock()


def _numbers(values: np.ndarray, markers: Sequence[str]) -> np.ndarray:
    text = np.asarray([None if v is None or str(v).strip() in markers else v for v in values],
                      dtype=object)
    return parse_numbers(text)[0]


def reference_columns(model: Model, cases: bytes) -> tuple[dict, dict]:
    """The bundle's reference rows as (number columns: float, NaN = missing; category columns:
    text, None = missing), the model's missing-value markers read as missing."""
    from engine.formats.cases import reference_inputs

    found = reference_inputs(cases, model)
    if found is None:
        return {}, {}
    table = found[1]
    markers = tuple(model.missing_markers)
    numbers = {f.name: _numbers(table[f.name], markers)
               for f in model.features if f.type == NUMBER}
    categories = {f.name: np.asarray([None if v is None or v in markers else v
                                      for v in table[f.name]], dtype=object)
                  for f in model.features if f.type != NUMBER}
    return numbers, categories


def reference_fit(model: Model, cases: bytes | None) -> Fit | None:
    """The multivariate fit of the bundle's reference rows (None: no reference rows, too few,
    or nothing that varies); cached by the reference's checksum and the model's inputs."""
    if cases is None:
        return None
    key = (hashlib.sha256(cases).hexdigest(),
           tuple((f.name, f.type) for f in model.features), tuple(model.missing_markers))
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    fit = fit_reference(*reference_columns(model, cases))
    with _LOCK:
        _CACHE[key] = fit
    return fit


class CategoryCodes:
    """A ChunkObserver: each chunk's category inputs as one-hot codes of `fit` (int16 a row),
    typed as the scan's model reads them."""

    columns: Sequence[str] = ()

    def __init__(self, model: Model, fit: Fit):
        self.model = model
        self.encodings = [e for e in fit.encodings if e.kind == "category"]
        wanted = {e.name for e in self.encodings}
        self.features = [f for f in model.features if f.name in wanted]
        self.parts: dict[str, list[np.ndarray]] = {e.name: [] for e in self.encodings}

    def observe(self, scanned: ScannedChunk, prediction: Prediction) -> None:
        if not self.features:
            return
        columns, _, _ = scanned.fields.typed(self.features, self.model.missing_markers,
                                             self.model.feature_names)
        for e in self.encodings:
            self.parts[e.name].append(category_codes(columns[e.name], e))

    def codes(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {name: np.concatenate(parts)[rows] if parts else np.zeros(0, np.int16)
                for name, parts in self.parts.items()}


class Both:
    """Two ChunkObservers on one scan (a trial's champion and the category codes)."""

    def __init__(self, first: ChunkObserver, second: ChunkObserver):
        self.first, self.second = first, second
        self.columns = list(dict.fromkeys([*first.columns, *second.columns]))

    def observe(self, scanned: ScannedChunk, prediction: Prediction) -> None:
        self.first.observe(scanned, prediction)
        self.second.observe(scanned, prediction)


def beside(alongside: ChunkObserver | None, codes: CategoryCodes | None
           ) -> ChunkObserver | None:
    if codes is None:
        return alongside
    return codes if alongside is None else Both(alongside, codes)


def measure(fit: Fit, codes: CategoryCodes, numbers: dict[str, np.ndarray],
            parsed: np.ndarray, alpha: float) -> MultivariateDrift | None:
    """The multivariate drift of the parsed rows of the current file."""
    if not parsed.any():
        return None
    rows = np.flatnonzero(parsed)
    wanted = {e.name for e in fit.encodings if e.kind == "number"}
    return fit.test({k: v[rows] for k, v in numbers.items() if k in wanted}, codes.codes(rows),
                    alpha)
