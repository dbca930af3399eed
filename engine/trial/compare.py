"""Champion and challenger on the same file, observation by observation: how many rows each
scored, how often their predicted labels agree, how far apart their probabilities are, and
(where the file carries the true outcome) the metrics of both on the same rows."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from engine.model import Model
from engine.nowtest.current import CurrentSample, label_mask, read_current
from engine.nowtest.profile import metrics_of


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def _metrics(model: Model, sample: CurrentSample, rows: np.ndarray) -> dict[str, float]:
    if model.task == "regression":
        y = sample.labels[rows]
    else:
        y = np.asarray(model.classes, dtype=object)[sample.labels[rows]]
    proba = None if sample.proba is None else sample.proba[rows]
    return metrics_of(model, y, sample.prediction[rows], proba)


def compare_samples(champion: Model, a: CurrentSample, challenger: Model,
                    b: CurrentSample) -> dict:
    """The comparison document (JSON-ready: undefined values are None)."""
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


def compare_on_file(path: Path, champion: Model, challenger: Model) -> dict:
    """Score `path` with both models (as `ratchet predict` parses it) and compare them."""
    a = read_current(Path(path), champion)
    b = read_current(Path(path), challenger)
    return compare_samples(champion, a, challenger, b)
