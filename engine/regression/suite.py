"""The regression suite: every case within its tolerance, the input schema accepting the cases,
and every minimum requirement met on the labelled reference sample."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from engine.errors import EngineError
from engine.metrics import METRICS, compute
from engine.model import Model, Prediction
from engine.progress import CancelToken, Progress, no_progress
from engine.regression.cases import CaseResult, inputs_of, read_cases, reference_rows, run_cases
from engine.regression.requirements import Requirement, parse_requirements


@dataclass(frozen=True, slots=True)
class RequirementResult:
    metric: str
    value: float | None
    bound: float
    bound_name: str  # "min" or "max"
    passed: bool
    rows: int

    def to_json(self) -> dict:
        finite = self.value is not None and math.isfinite(self.value)
        return {"metric": self.metric, "value": self.value if finite else None,
                self.bound_name: self.bound, "passed": self.passed, "rows": self.rows}


@dataclass(frozen=True, slots=True)
class SuiteResult:
    model: str
    cases: list[CaseResult]
    requirements: list[RequirementResult]
    reference_rows: int
    reference_rejected: int
    problems: list[str] = field(default_factory=list)  # plain sentences, most important first

    @property
    def passed(self) -> bool:
        return not self.problems

    def to_json(self) -> dict:
        failed = [c for c in self.cases if not c.passed]
        return {"model": self.model, "passed": self.passed,
                "cases": {"total": len(self.cases), "failed": len(failed),
                          "failures": [asdict(c) for c in failed]},
                "requirements": [r.to_json() for r in self.requirements],
                "reference": {"rows": self.reference_rows, "rejected": self.reference_rejected},
                "problems": self.problems}


def _labels(text: np.ndarray, rows: np.ndarray, model: Model) -> np.ndarray:
    if model.task == "regression":
        out = np.empty(len(text))
        for i, (t, row) in enumerate(zip(text, rows, strict=True)):
            try:
                out[i] = float(t)
            except ValueError:
                raise EngineError(f"regression_cases.csv: reference row {row}: label {t!r} is "
                                  "not a number.", "E_CASES_INVALID") from None
            if not math.isfinite(out[i]):
                raise EngineError(f"regression_cases.csv: reference row {row}: label {t!r} is "
                                  "not a finite number.", "E_CASES_INVALID")
        return out
    by_text = {str(c): c for c in model.classes}
    return np.array([by_text.get(t, t) for t in text], dtype=object)


def _evaluate(model: Model, req: Requirement, y_true, result) -> float:
    need = METRICS[req.metric]
    if model.task == "regression":
        return compute(req.metric, y_true, y_pred=result.prediction)
    kwargs = {"classes": list(model.classes)}
    if need == "proba":
        kwargs["proba"] = result.proba
    else:
        kwargs["y_pred"] = result.prediction
    return compute(req.metric, y_true, **kwargs)


def run_suite(model: Model, label: str, requirements: bytes, cases: bytes,
              progress: Progress = no_progress, cancel: CancelToken | None = None,
              pinned: bytes | None = None,
              requirements_override: list[Requirement] | None = None) -> SuiteResult:
    """`pinned`: the workstation's pinned outliers (regression_cases.csv form); they run with
    the bundle's own cases. `requirements_override`: the effective (ratcheted) requirements,
    when they differ from the bundle's."""
    progress(0.0, "Running the regression cases")
    reqs = requirements_override or parse_requirements(requirements)
    case_results = run_cases(cases, model)
    problems = [f"case row {c.row} ({c.kind}{': ' + c.note if c.note else ''}) failed: "
                f"{c.detail}" for c in case_results if not c.passed]
    if pinned:
        outliers = run_cases(pinned, model)
        case_results += outliers
        problems += [f"pinned outlier {c.row} ({c.source}{': ' + c.note if c.note else ''}) "
                     f"failed: {c.detail}" for c in outliers if not c.passed]
    if cancel is not None:
        cancel.check()
    progress(0.5, "Checking the requirements on the reference sample")
    frame = read_cases(cases, model)
    ref = reference_rows(frame)
    req_results: list[RequirementResult] = []
    rejected = 0
    if len(ref):
        result = model.predict(inputs_of(ref, model))
        rejected = int(result.rejected.sum())
        if rejected:
            problems.append(f"{rejected} of the {len(ref)} reference rows are rejected by the "
                            "model's input schema")
        ok = ~result.rejected
        y_true = _labels(ref["label"].to_numpy(dtype=object)[ok],
                         (ref.index.to_numpy() + 1)[ok], model)
        kept = Prediction(result.prediction[ok], None if result.proba is None
                          else result.proba[ok], result.rejected[ok], {})
        for req in reqs:
            if req.applies != "overall":
                continue  # per-partition requirements are the back-test's to enforce
            value = _evaluate(model, req, y_true, kept) if ok.any() else math.nan
            passed = req.met_by(value)
            req_results.append(RequirementResult(req.metric, float(value), req.bound,
                                                 req.bound_name, passed, int(ok.sum())))
            if not passed:
                side = "below the minimum" if req.higher_is_better else "above the maximum"
                problems.append(f"{req.metric} is {value:.6g} on the reference sample, {side} "
                                f"{req.bound:g}")
    elif any(r.applies == "overall" for r in reqs):
        problems.append("the bundle has requirements but no labelled reference sample to check "
                        "them on")
    progress(1.0, "Done")
    return SuiteResult(label, case_results, req_results, len(ref), rejected, problems)
