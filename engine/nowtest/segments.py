"""The now-test's side of segments (engine.formats.segments): the rows of the file kept per row
on the now-test's one pass (a ChunkObserver: inputs, outcome, the model's outputs), and each
segment's univariate drift against the reference rows of the same value (the bundle's labelled
reference sample), with the now-test's own tests (engine.nowtest.drift) and its false-alarm
budget shared by every test of every segment (Bonferroni). The metrics, intervals and ranking
are the back-test's (the services join the two: engine.services.segments).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.batch.scan import ScannedChunk
from engine.formats.cases import reference_inputs
from engine.formats.requirements import Requirement
from engine.formats.segments import MISSING, OTHER, SegmentTable
from engine.model import Model, Prediction
from engine.model.categories import CATEGORY, NUMBER
from engine.model.model import Feature
from engine.nowtest.current import label_values
from engine.nowtest.drift import (
    OTHER as UNSEEN,
)
from engine.nowtest.drift import (
    categorical_feature_drift,
    category_counts,
    numeric_feature_drift,
    spread_integral,
)
from engine.nowtest.reasons import number
from engine.nowtest.result import AlarmReason

MIN_REFERENCE_ROWS = 30  # fewer reference rows of a value: its drift is not measured


@dataclass
class SegmentRows:
    """Every row of the now-tested file as the model saw it (a ChunkObserver)."""

    model: Model
    path: Path
    columns: tuple[str, ...] = ()
    inputs: dict[str, list] = field(default_factory=dict)
    parsed: list = field(default_factory=list)
    rejected: list = field(default_factory=list)
    prediction: list = field(default_factory=list)
    proba: list = field(default_factory=list)
    labels: list = field(default_factory=list)

    def __post_init__(self):
        target = self.model.target
        self.columns = (target,) if target else ()
        self.inputs = {f.name: [] for f in self.model.features}

    def observe(self, scanned: ScannedChunk, prediction: Prediction) -> None:
        model, target = self.model, self.model.target
        label = target if target and target in scanned.source.header \
            and target not in model.feature_names else None
        wanted = (*model.features, *((Feature(label, CATEGORY, True),) if label else ()))
        columns, errors, _ = scanned.fields.typed(wanted, model.missing_markers,
                                                  model.feature_names)
        for f in model.features:
            self.inputs[f.name].append(columns[f.name])
        self.parsed.append(~errors.rejected)
        self.rejected.append(prediction.rejected)
        self.prediction.append(prediction.prediction if model.task == "regression"
                               else prediction.class_index)
        self.proba.append(prediction.proba)
        if label:
            self.labels.append(label_values(columns[label], model, self.path, label,
                                            scanned.chunk.first_row))

    def joined(self) -> dict:
        """Per row: inputs, parsed, rejected, prediction, proba, y (None without labels)."""
        return {"inputs": {k: np.concatenate(v) for k, v in self.inputs.items()},
                "parsed": np.concatenate(self.parsed), "rejected": np.concatenate(self.rejected),
                "prediction": np.concatenate(self.prediction),
                "proba": None if self.proba[0] is None else np.concatenate(self.proba),
                "y": np.concatenate(self.labels) if self.labels else None}


def _reference(model: Model, cases: bytes | None) -> dict[str, np.ndarray] | None:
    found = reference_inputs(cases, model)
    if found is None:
        return None
    table = found[1]
    ok = ~model.predict(table).rejected
    return {k: v[ok] for k, v in table.items()}


def _numbers(values: np.ndarray) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64) \
        if values.dtype == object else values.astype(np.float64)


def _code_of(values: np.ndarray, names: list[str]) -> np.ndarray:
    """Each reference row's segment (as the current rows were coded), -1 for none."""
    index = {n: i for i, n in enumerate(names) if n != OTHER}
    other = names.index(OTHER) if OTHER in names else -1
    text = [MISSING if v is None else str(v) for v in values]
    return np.array([index.get(t, other) for t in text], dtype=np.int32)


def segment_drift(model: Model, cases: bytes | None, column: str, names: list[str],
                  codes: np.ndarray, inputs: dict[str, np.ndarray], family_alpha: float
                  ) -> tuple[dict[str, list[str]], list[str]]:
    """(segment -> the inputs that drifted in it, notes). `codes`: each current row's segment
    (-1: not counted); the segment column itself is not tested (it is the segment)."""
    ref = _reference(model, cases)
    if ref is None:
        return {}, ["The bundle has no labelled reference rows, so no segment's drift can be "
                    "measured."]
    ref_codes = _code_of(ref[column], names)
    tested = [i for i in range(len(names))
              if (ref_codes == i).sum() >= MIN_REFERENCE_ROWS and (codes == i).any()]
    features = [f for f in model.features if f.name != column]
    per_segment = len(features) + sum(f.type == NUMBER for f in features)
    alpha = family_alpha / max(1, per_segment * len(tested))
    drifted, notes = {}, []
    for i in tested:
        mine, theirs = codes == i, ref_codes == i
        found = []
        for f in features:
            if f.type == NUMBER:
                r = _numbers(ref[f.name][theirs])
                present = np.sort(r[~np.isnan(r)])
                d = numeric_feature_drift(f.name, r, inputs[f.name][mine], alpha,
                                          spread_integral(present))
            else:
                known = set(f.categories or ()) | {str(v) for v in ref[f.name] if v is not None}
                cur = Counter()
                for value, n in category_counts(inputs[f.name][mine]).items():
                    cur[value if value in known or value == MISSING else UNSEEN] += n
                d = categorical_feature_drift(f.name, category_counts(ref[f.name][theirs],
                                                                      known), cur, alpha)
            if d.drifted:
                found.append(f.name)
        if found:
            drifted[names[i]] = found
    few = [n for i, n in enumerate(names) if i not in tested]
    if few:
        notes.append(f"Drift not measured in {', '.join(few)}: fewer than {MIN_REFERENCE_ROWS} "
                     "reference rows of that value (or no current rows).")
    notes.append(f"Drift per segment against the reference rows of the same value, each test "
                 f"at p < {alpha:.2g} (a {family_alpha:.0%} chance of a false alarm over all "
                 "segments' tests).")
    return drifted, notes


def segment_reasons(label: str, table: SegmentTable, reqs: list[Requirement], file: str
                    ) -> list[AlarmReason]:
    """An alarm reason per segment that misses a requirement holding every segment."""
    if not table.held:
        return []
    out = []
    for s in table.segments:
        for r in reqs:
            value = s.metrics.get(r.metric)
            if r.applies != "segment" or r.segment != table.column or value is None \
                    or value != value or r.met_by(value):
                continue
            side = "below the minimum" if r.higher_is_better else "above the maximum"
            out.append(AlarmReason(
                "metric", f"{r.metric} in {table.column} {s.value}", value, r.bound,
                f"{label}: {r.metric} {number(value)} is {side} {r.bound:g} in the segment "
                f"{table.column} = {s.value} ({s.rows:,} labelled rows of {file}); every "
                f"{table.column} segment is held to it."))
    return out
