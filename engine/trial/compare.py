"""Champion and challenger on the same file, observation by observation: how many rows each
scored, how often their predicted labels agree, how far apart their probabilities are, and
(where the file carries the true outcome) the metrics of both on the same rows.

The file is not read again for it: the challenger's shadow pass (a batch, or a now-test) hands
each chunk it parsed and scored to `ChampionBeside`, which scores the champion on the same
parsed fields and keeps what the comparison needs. Each model sees the rows as a now-test of it
would (its inputs and its label column parsed), so the numbers are those of reading the file
once per model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.batch.csv_input import check_columns
from engine.batch.scan import ScannedChunk
from engine.errors import InputError
from engine.model import Model, Prediction
from engine.model.categories import CATEGORY
from engine.model.model import Feature
from engine.nowtest.current import label_mask, label_values, no_rows
from engine.nowtest.profile import metrics_of


@dataclass(frozen=True, slots=True)
class Side:
    """One model's outputs over the whole file (what compare_samples reads of a now-test's
    engine.nowtest.current.CurrentSample)."""

    rows: int
    rejected: np.ndarray
    prediction: np.ndarray
    proba: np.ndarray | None
    class_index: np.ndarray | None
    labels: np.ndarray | None  # class index (-1: none) or value (NaN: none); None: no column


class _Gathered:
    """A Side, chunk by chunk."""

    def __init__(self):
        self.parts: dict[str, list] = {k: [] for k in ("rejected", "prediction", "proba",
                                                       "class_index", "labels")}

    def add(self, rejected: np.ndarray, result: Prediction, labels: np.ndarray | None) -> None:
        for key, value in (("rejected", rejected), ("prediction", result.prediction),
                           ("proba", result.proba), ("class_index", result.class_index),
                           ("labels", labels)):
            self.parts[key].append(value)

    def side(self) -> Side:
        def joined(key):
            parts = self.parts[key]
            return None if not parts or any(p is None for p in parts) else np.concatenate(parts)

        rejected = joined("rejected")
        return Side(0 if rejected is None else rejected.size, rejected, joined("prediction"),
                    joined("proba"), joined("class_index"), joined("labels"))


def _label_feature(model: Model, header: list[str]) -> Feature | None:
    """The model's label column, where the file has one beside its inputs."""
    target = model.target
    if target and target in header and target not in model.feature_names:
        return Feature(target, CATEGORY, True)
    return None


class ChampionBeside:
    """An engine.batch.scan.ChunkObserver for the challenger's scan: scores the champion on each
    chunk and gathers both sides. A file the champion (or a label) cannot be compared on does
    not stop the challenger's pass: `comparison()` raises what reading the file for the
    comparison would have raised, the champion's problem first."""

    def __init__(self, champion: Model, challenger: Model):
        self.champion, self.challenger = champion, challenger
        self.columns = list(dict.fromkeys(
            [*champion.feature_names, *(m.target for m in (champion, challenger) if m.target)]))
        self._a, self._b = _Gathered(), _Gathered()
        self._failed: dict[str, InputError] = {}  # "champion" / "challenger" -> first error
        self._labels: tuple[Feature | None, Feature | None] | None = None

    def observe(self, scanned: ScannedChunk, prediction: Prediction) -> None:
        if "champion" in self._failed:
            return
        source = scanned.source
        if self._labels is None:
            self._labels = (_label_feature(self.champion, source.header),
                            _label_feature(self.challenger, source.header))
            try:
                check_columns(source, self.champion.feature_names)
            except InputError as exc:
                self._failed["champion"] = exc
                return
        label_a, label_b = self._labels
        try:
            self._champion(scanned, label_a)
        except InputError as exc:
            self._failed["champion"] = exc
            return
        rejected, labels = prediction.rejected, None
        if label_b is not None:  # the challenger's label column parsed as its now-test would
            columns, errors, _ = scanned.fields.typed((label_b,))
            rejected = rejected | errors.rejected
            try:
                labels = label_values(columns[label_b.name], self.challenger, source.path,
                                      label_b.name, scanned.chunk.first_row)
            except InputError as exc:
                self._failed.setdefault("challenger", exc)
        self._b.add(rejected, prediction, labels)

    def _champion(self, scanned: ScannedChunk, label: Feature | None) -> None:
        features = self.champion.features + ((label,) if label is not None else ())
        scored = scanned.score(self.champion, features)
        labels = None
        if label is not None:
            labels = label_values(scored.columns[label.name], self.champion,
                                  scanned.source.path, label.name, scanned.chunk.first_row)
        self._a.add(scored.prediction.rejected, scored.prediction, labels)

    def comparison(self, path) -> dict:
        """The comparison of the chunks observed (all of `path`'s); raises InputError for a
        file they cannot be compared on."""
        for who in ("champion", "challenger"):
            if who in self._failed:
                raise self._failed[who]
        a, b = self._a.side(), self._b.side()
        if a.rows == 0:
            raise no_rows(path)
        return compare_samples(self.champion, a, self.challenger, b)


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def _metrics(model: Model, sample: Side, rows: np.ndarray) -> dict[str, float]:
    if model.task == "regression":
        y = sample.labels[rows]
    else:
        y = np.asarray(model.classes, dtype=object)[sample.labels[rows]]
    proba = None if sample.proba is None else sample.proba[rows]
    return metrics_of(model, y, sample.prediction[rows], proba)


def compare_samples(champion: Model, a: Side, challenger: Model, b: Side) -> dict:
    """The comparison document (JSON-ready: undefined values are None). `a` and `b` may also
    be now-tests' samples (engine.nowtest.current.CurrentSample)."""
    both = ~a.rejected & ~b.rejected
    rows = np.flatnonzero(both)
    doc = {"rows": a.rows, "scored_both": int(rows.size),
           "champion_rejected": int(a.rejected.sum()),
           "challenger_rejected": int(b.rejected.sum()),
           "agreement": None, "mean_abs_proba_diff": None, "mean_abs_diff": None,
           "labelled": 0, "metrics": None}
    if rows.size:
        if champion.task == "regression":
            diff = np.abs(a.prediction[rows].astype(float) - b.prediction[rows].astype(float))
            doc["mean_abs_diff"] = float(diff.mean())
        else:
            doc["agreement"] = float(np.mean(a.class_index[rows] == b.class_index[rows]))
            gap = 0.5 * np.abs(a.proba[rows] - b.proba[rows]).sum(axis=1)  # = |dP(1)| for 2
            doc["mean_abs_proba_diff"] = float(gap.mean())
    labelled = np.flatnonzero(label_mask(a) & both)
    if labelled.size:
        doc["labelled"] = int(labelled.size)
        doc["metrics"] = {"champion": _metrics(champion, a, labelled),
                          "challenger": _metrics(challenger, b, labelled)}
    return _clean(doc)
