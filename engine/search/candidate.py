"""One candidate: a refitted configuration exported (and self-checked) to coefficients.json,
with its requirements.json and regression_cases.csv, checked to pass its own regression suite.

Requirements: one `overall` requirement on the search metric. `mean` is the cross-validated
mean; the bound starts from the worse of that mean and the value on the candidate's own
reference sample (held-out rows, scored by our predictor exactly as `ratchet regress` will) and
moves `margin` x |value| to the safe side (lower for a minimum, higher for an error metric's
maximum), rounded outward to 4 decimals. So a fresh candidate passes its own suite, and a
workstation where it does clearly worse than in the search finds out.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import pandas as pd

from engine.errors import EngineError
from engine.export.exporter import export_model
from engine.formats.cases import inputs_of, read_cases, reference_rows
from engine.formats.requirements import REQUIREMENTS_FORMAT
from engine.metrics import GREATER_IS_BETTER
from engine.model import Model, load_coefficients
from engine.model.scoring import metric_value, true_labels
from engine.regression.suite import run_suite
from engine.search.cases import case_table
from engine.search.runner import Trial

BOUNDED = {"accuracy", "precision", "recall", "f1", "false_positive_rate", "roc_auc", "brier"}


@dataclass(frozen=True, slots=True)
class Candidate:
    trial: Trial
    files: dict[str, bytes]  # coefficients.json, requirements.json, regression_cases.csv
    reference_value: float
    reference_rows: int
    bound: float


def reference_value(model: Model, cases: bytes, metric: str) -> tuple[float, int]:
    """The metric on the reference rows of a cases file, computed as the regression suite does."""
    frame = read_cases(cases, model)
    ref = reference_rows(frame)
    result = model.predict(inputs_of(ref, model))
    ok = ~result.rejected
    y = true_labels(ref["label"][ok], (ref.rows + 1)[ok], model, "reference sample")
    proba = None if result.proba is None else result.proba[ok]
    return metric_value(metric, model, y, result.prediction[ok], proba), int(ok.sum())


def bound_for(metric: str, cv_mean: float, ref_value: float, margin: float) -> float:
    higher = GREATER_IS_BETTER[metric]
    values = [v for v in (cv_mean, ref_value) if math.isfinite(v)]
    worst = min(values) if higher else max(values)
    if higher:
        return math.floor((worst - margin * abs(worst)) * 1e4) / 1e4
    return math.ceil((worst + margin * abs(worst)) * 1e4) / 1e4


def requirements_doc(metric: str, trial: Trial, ref_value: float, ref_rows: int, bound: float,
                     label: str, folds: int) -> dict:
    entry = {"metric": metric, ("min" if GREATER_IS_BETTER[metric] else "max"): bound,
             "mean": round(trial.mean, 6), "applies": "overall"}
    if metric in BOUNDED:
        entry["range"] = [0.0, 1.0]
    return {"format": REQUIREMENTS_FORMAT, "metrics": [entry],
            "baseline": {"model": label,
                         "measured_on": f"{folds} time-ordered validation folds (mean "
                                        f"{trial.mean:.6g}, std {trial.std:.3g}) and the "
                                        f"reference sample: {ref_rows} held-out rows later "
                                        "than every training row",
                         "values": {metric: round(ref_value, 6)},
                         "cross_validated": {metric: round(trial.mean, 6)}},
            "history": []}


def _json_bytes(doc: dict, indent: int) -> bytes:
    return (json.dumps(doc, indent=indent, allow_nan=False, ensure_ascii=False) + "\n").encode()


def make_candidate(fitted, trial: Trial, train: pd.DataFrame, held: pd.DataFrame, data,
                   model_id: str, metric: str, margin: float, reference_rows_wanted: int,
                   seed: int, label: str, folds: int) -> Candidate:
    """Export, write the cases and requirements, and prove the three files agree."""
    doc = export_model(fitted, train, data.target, model_id)  # self-checked against sklearn
    coefficients = _json_bytes(doc, 1)
    model = load_coefficients(coefficients, name="coefficients.json")
    source = f"held-out rows of {data.path.name} ({label})"
    cases = case_table(fitted, model, train, held, list(data.numeric), list(data.categorical),
                       data.target, data.classes, reference_rows_wanted, seed, source)
    value, rows = reference_value(model, cases, metric)
    if not math.isfinite(value) and not math.isfinite(trial.mean):
        raise EngineError(f"{metric} is undefined on the reference sample and in validation.",
                          "E_METRIC")
    bound = bound_for(metric, trial.mean, value, margin)
    requirements = _json_bytes(requirements_doc(metric, trial, value, rows, bound, label, folds),
                               2)
    suite = run_suite(model, label, requirements, cases)
    if suite.problems:
        raise EngineError(f"the candidate fails its own regression suite: "
                          f"{'; '.join(suite.problems[:3])}.", "E_CANDIDATE_SUITE")
    files = {"coefficients.json": coefficients, "requirements.json": requirements,
             "regression_cases.csv": cases}
    return Candidate(trial, files, value, rows, bound)
