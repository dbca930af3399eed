"""A loaded, validated model: inputs schema + preprocessing + estimator + output rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import CoefficientsInvalid, InputError
from engine.ground.strict_json import NotCanonical, parse_strict
from engine.model import outputs
from engine.model.categories import CATEGORY, NUMBER
from engine.model.estimators import ESTIMATORS
from engine.model.markers import LEGACY_MARKERS, marker_problem, object_markers
from engine.model.reader import Reader
from engine.model.rows import (
    RowErrors,
    missing_mask,
    missing_message,
    parse_numbers,
    reject_infinite,
    show_value,
)
from engine.model.steps import parse_steps, run_steps

FORMAT = "ratchet-coefficients/1"
TASKS = ("regression", "binary", "multiclass")
TOP_LEVEL = {"format", "model_id", "task", "target", "classes", "inputs", "preprocessing",
             "estimator", "link", "decision", "provenance", "missing_markers"}


@dataclass(frozen=True, slots=True)
class Feature:
    """One input column the model needs, as the publisher's training sample described it."""

    name: str
    type: str  # "number" | "category"
    missing: bool  # whether the model accepts a missing value here
    range: tuple[float, float] | None = None
    categories: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Prediction:
    """Outputs for a batch. Rejected rows keep their place: NaN outputs and a reason."""

    prediction: np.ndarray
    proba: np.ndarray | None
    rejected: np.ndarray
    errors: dict[int, str]
    class_index: np.ndarray | None = None  # classifiers: index into Model.classes

    @property
    def n_ok(self) -> int:
        return int((~self.rejected).sum())


@dataclass(frozen=True, slots=True)
class Model:
    model_id: str
    task: str
    classes: tuple | None
    target: str | None
    features: tuple[Feature, ...]
    steps: tuple
    estimator: Any
    link: str
    decision: str
    # The texts read as a missing value in the operator's files (engine.model.markers).
    missing_markers: tuple[str, ...] = LEGACY_MARKERS

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    def predict(self, table: Mapping[str, Any] | np.ndarray) -> Prediction:
        """Score every row of `table`: a DataFrame, a mapping of column name -> values, or a
        2-d array whose columns are the model's inputs in order. Text in it is read as an
        operator's file is: a missing-value marker is a missing value. Never modifies the
        input."""
        matrix, cols = self._columns(table)
        return self._predict(matrix, cols, RowErrors(cols[0].shape[0]), self.missing_markers)

    def predict_columns(self, columns: Mapping[str, np.ndarray], errors: RowErrors
                        ) -> Prediction:
        """Like `predict`, for columns already parsed by the caller, which may have rejected
        some rows already (`errors`, one entry per row). Their text was read already: markers
        are not looked for again."""
        return self._predict(None, [np.asarray(columns[n]) for n in self.feature_names], errors,
                             None)

    def _predict(self, matrix, cols: list[np.ndarray], errors: RowErrors,
                 markers: tuple[str, ...] | None) -> Prediction:
        n = len(errors.rejected)
        cols = [_coerce(c, f, errors, markers) for c, f in zip(cols, self.features, strict=True)]
        inputs = cols
        # An estimator that turns any NaN input into a NaN score (linear) lets missing values be
        # found from the scores afterwards instead of by a pass over every column.
        deferred = not self.steps and self.estimator.propagates_nan
        if not deferred:
            self._reject_missing(cols, errors, rows=None)
        if self.steps or matrix is None or matrix.dtype != np.float64:
            cols = run_steps(self.steps, cols, self.feature_names, errors)
            matrix = np.empty((n, len(cols)), dtype=np.float64, order="F")
            for j, col in enumerate(cols):
                matrix[:, j] = col
        # Rejected rows are scored like the others (NaN and unknowns cannot derail the kernels)
        # and blanked afterwards.
        raw = self.estimator.raw(matrix)
        if deferred:
            unscorable = np.flatnonzero(~np.isfinite(raw).all(axis=1))
            if unscorable.size:
                self._reject_missing(cols, errors, rows=unscorable)
        reject_infinite(inputs, self.feature_names, ~np.isfinite(raw).all(axis=1), errors)
        return self._finish(raw, errors)

    def _reject_missing(self, cols, errors: RowErrors, rows: np.ndarray | None) -> None:
        """Reject rows with a missing value where the model takes none (only `rows` if given)."""
        for col, f in zip(cols, self.features, strict=True):
            if f.missing:
                continue
            if rows is None:
                errors.add(missing_mask(col), missing_message(f.name, errors))
            else:
                mask = np.zeros(len(errors.rejected), dtype=bool)
                mask[rows] = missing_mask(col[rows])
                errors.add(mask, missing_message(f.name, errors))

    def _columns(self, table) -> tuple[np.ndarray | None, list[np.ndarray]]:
        """The input as columns; numbers as views of one float matrix where the input allows."""
        if isinstance(table, np.ndarray):
            if table.ndim != 2 or table.shape[1] != len(self.features):
                raise InputError(f"expected a 2-d array with {len(self.features)} columns "
                                 f"({', '.join(self.feature_names)}), got shape {table.shape}.")
            return table, [table[:, j] for j in range(table.shape[1])]
        absent = [f.name for f in self.features if f.name not in table]
        if absent:
            raise InputError(
                f"the input lacks the column(s) {', '.join(map(repr, absent))}; this model "
                f"needs {', '.join(map(repr, self.feature_names))}.",
                code="E_MISSING_COLUMN",
            )
        if hasattr(table, "to_numpy") and all(
                f.type == NUMBER and table[f.name].dtype.kind == "f" for f in self.features):
            matrix = table[self.feature_names].to_numpy(dtype=np.float64)
            return matrix, [matrix[:, j] for j in range(matrix.shape[1])]
        cols = [np.asarray(table[f.name]) for f in self.features]
        if len({c.shape[0] for c in cols}) != 1:
            raise InputError("the input columns have different lengths.")
        return None, cols

    def _finish(self, raw: np.ndarray, errors: RowErrors) -> Prediction:
        unscorable = ~np.isfinite(raw).all(axis=1)
        if unscorable.any():
            errors.add(unscorable, lambda row: (
                "the model could not score this row: a missing or extreme value reached it "
                "after preprocessing; check the row's values"))
        bad = errors.rejected
        if self.task == "regression":
            pred = outputs.regression_value(self.link, raw)
            pred[bad] = np.nan
            return Prediction(pred, None, bad, errors.messages)
        proba = outputs.probabilities(self.link, raw)
        idx = outputs.class_index(self.decision, raw, proba)
        labels = np.asarray(self.classes)
        pred = labels[idx]
        if bad.any():
            proba = proba.copy()
            proba[bad] = np.nan
            pred = pred.astype(object)
            pred[bad] = None
        return Prediction(pred, proba, bad, errors.messages, idx)


def _note_markers(values: np.ndarray, name: str, marked: np.ndarray, errors: RowErrors) -> None:
    """Remembers where a marker other than the empty cell was written (to name it)."""
    rows = np.flatnonzero(marked)
    texts = np.array([str(v).strip() for v in values[rows]], dtype=object)
    keep = texts != ""
    if keep.any():
        errors.note_written(name, rows[keep], texts[keep])


def _coerce(values: np.ndarray, feature: Feature, errors: RowErrors,
            markers: tuple[str, ...] | None) -> np.ndarray:
    """Numbers become float64 (unparseable text rejects its row); categories become objects.
    With `markers`, text is the operator's: a marker is a missing value (None / NaN)."""
    if feature.type == CATEGORY:
        values = values.astype(object, copy=False)
        if markers:
            marked = object_markers(values, markers)
            if marked.any():
                _note_markers(values, feature.name, marked, errors)
                values = np.where(marked, None, values)
        return values
    if values.dtype.kind in "fiub":
        return np.asarray(values, dtype=np.float64)
    try:
        return values.astype(np.float64)
    except (TypeError, ValueError):
        pass
    markers = markers or LEGACY_MARKERS
    out, bad = parse_numbers(values, markers)
    if len(markers) > 1:
        text = np.array([v.strip() if isinstance(v, str) else None for v in values],
                        dtype=object)
        _note_markers(text, feature.name, object_markers(text, markers), errors)
    errors.add(bad, lambda row: f"column {feature.name!r}: {show_value(values[row])} is not a "
                                "number")
    return out


# -- loading ---------------------------------------------------------------------------------

def load_coefficients(source: str | Path | bytes | dict, name: str | None = None) -> Model:
    """Load and completely validate a coefficient file (path, JSON bytes/text, or parsed dict)."""
    if isinstance(source, Path):
        name = name or str(source)
        try:
            source = source.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read the coefficient file {name}: {exc.strerror}.") from exc
    if isinstance(source, bytes | str):
        try:
            doc = parse_strict(source.encode("utf-8") if isinstance(source, str) else source)
        except NotCanonical as exc:
            raise CoefficientsInvalid("$", f"it is not valid JSON: {exc}", name) from None
    else:
        doc = source
    return parse_document(Reader(doc, "$", name))


def _parse_feature(r: Reader) -> Feature:
    r.only_keys({"name", "type", "missing", "range", "categories"})
    name = r.child("name").str()
    kind = r.child("type").str({NUMBER, CATEGORY})
    missing = r.child("missing").bool()
    rng = cats = None
    if (rr := r.optional("range")) is not None:
        lo, hi = rr.floats(2)
        if lo > hi:
            raise rr.fail("the low end of the range is above the high end")
        rng = (float(lo), float(hi))
    if (cr := r.optional("categories")) is not None:
        cats = tuple(c.str() for c in cr.items())
    return Feature(name, kind, missing, rng, cats)


def parse_document(r: Reader) -> Model:
    r.only_keys(TOP_LEVEL)
    fmt = r.child("format")
    if fmt.str() != FORMAT:
        raise fmt.expected(f"{FORMAT!r} (this version of Ratchet reads only that format)")
    model_id = r.child("model_id").str()
    if not model_id.strip():
        raise r.child("model_id").expected("a non-empty model id")
    task = r.child("task").str(set(TASKS))
    target = r.optional("target")
    features = tuple(_parse_feature(f) for f in r.child("inputs").items(min_length=1))
    names = [f.name for f in features]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise r.child("inputs").fail(f"the input {dup!r} is listed twice")
    classes = None
    if task != "regression":
        cr = r.child("classes")
        classes = tuple(c.scalar() for c in cr.items())
        need = "exactly 2" if task == "binary" else "at least 3"
        if (task == "binary") != (len(classes) == 2) or len(classes) < 2:
            raise cr.fail(f"a {task} model needs {need} classes, found {len(classes)}")
        if len(set(map(repr, classes))) != len(classes):
            raise cr.fail("a class label appears twice")
    markers = _parse_markers(r.optional("missing_markers"), features)
    steps, kinds = parse_steps(r.child("preprocessing"), [f.type for f in features])
    if CATEGORY in kinds:
        raise r.child("preprocessing").fail(
            f"after preprocessing, column {kinds.index(CATEGORY)} still holds categories; "
            "the estimator needs numbers (add a one_hot or ordinal step)")
    est_r = r.child("estimator")
    kind = est_r.child("kind").str(set(ESTIMATORS))
    estimator = ESTIMATORS[kind](est_r, len(kinds))
    link_r, dec_r = r.child("link"), r.child("decision")
    link = link_r.str(set(outputs.LINKS))
    decision = dec_r.str(set(outputs.DECISIONS))
    if task not in outputs.LINKS[link]:
        raise link_r.fail(f"the link {link!r} does not serve a {task} model")
    if task not in outputs.DECISIONS[decision]:
        raise dec_r.fail(f"the decision {decision!r} does not serve a {task} model")
    width = outputs.raw_width(link, len(classes or ()))
    if decision in {"raw_positive", "raw_nonnegative"} and width != 1:
        raise dec_r.fail(f"{decision!r} needs one raw score, the link {link!r} gives {width}")
    if estimator.n_outputs != width:
        raise est_r.fail(f"the estimator gives {estimator.n_outputs} outputs, the link "
                         f"{link!r} needs {width}")
    return Model(model_id, task, classes, None if target is None else target.str(), features,
                 steps, estimator, link, decision, markers)


def _parse_markers(r: Reader | None, features: tuple[Feature, ...]) -> tuple[str, ...]:
    """The file's missing-value markers; without the field, only the empty cell (as files
    written before the field existed meant)."""
    if r is None:
        return LEGACY_MARKERS
    items = list(r.items(min_length=1))
    markers = tuple(item.str() for item in items)
    categories = {f"the input {f.name!r}": f.categories for f in features
                  if f.type == CATEGORY and f.categories is not None}
    problem = marker_problem(markers, categories)
    if problem is not None:
        at, why = problem
        raise (r if at is None else items[at]).fail(why)
    return markers
