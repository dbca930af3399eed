"""The regression suite: every case within its tolerance, the input schema accepting the cases,
and every minimum requirement met on the labelled reference sample."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from engine.formats.cases import (
    CaseResult,
    check_cases,
    inputs_of,
    read_cases,
    reference_rows,
    run_cases,
)
from engine.formats.numbers import shown_pair
from engine.formats.requirements import Requirement, parse_requirements
from engine.model import Model, Prediction
from engine.model.scoring import metric_value, true_labels
from engine.progress import CancelToken, Progress, no_progress


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


def run_suite(model: Model, label: str, requirements: bytes, cases: bytes,
              progress: Progress = no_progress, cancel: CancelToken | None = None,
              pinned: bytes | None = None,
              requirements_override: list[Requirement] | None = None) -> SuiteResult:
    """`pinned`: the workstation's pinned outliers (regression_cases.csv form); they run with
    the bundle's own cases. `requirements_override`: the effective (ratcheted) requirements,
    when they differ from the bundle's."""
    progress(0.0, "Running the regression cases")
    reqs = requirements_override or parse_requirements(requirements)
    frame = read_cases(cases, model)
    case_results = check_cases(frame, model)
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
        y_true = true_labels(ref["label"][ok], (ref.rows + 1)[ok], model,
                             "regression_cases.csv, reference sample")
        kept = Prediction(result.prediction[ok], None if result.proba is None
                          else result.proba[ok], result.rejected[ok], {})
        for req in reqs:
            if req.applies != "overall":
                continue  # per-partition requirements are the back-test's to enforce
            value = (metric_value(req.metric, model, y_true, kept.prediction, kept.proba)
                     if ok.any() else math.nan)
            passed = req.met_by(value)
            req_results.append(RequirementResult(req.metric, float(value), req.bound,
                                                 req.bound_name, passed, int(ok.sum())))
            if not passed:
                side = "below the minimum" if req.higher_is_better else "above the maximum"
                found, bound = shown_pair(value, req.bound)
                problems.append(f"{req.metric} is {found} on the reference sample, {side} "
                                f"{bound}")
    elif any(r.applies == "overall" for r in reqs):
        problems.append("the bundle has requirements but no labelled reference sample to check "
                        "them on")
    progress(1.0, "Done")
    return SuiteResult(label, case_results, req_results, len(ref), rejected, problems)
