"""Requirements: show the effective (ratcheted) requirements of a model with their history,
ratchet them up from a passing regression run, and set one bound by hand.

Every write re-judges the steps against the bounds in force inside its transaction
(engine.regression.ratchet.write_steps): a bound someone raised meanwhile is kept and the
step dropped, and a bound is never lowered without an override, on the record.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import InputError
from engine.formats.requirements import Requirement
from engine.progress import CancelToken, Progress, no_progress
from engine.registry.refs import parse_ref
from engine.regression.ratchet import (
    Proposal,
    Written,
    apply_steps,
    baseline,
    effective_requirements,
    propose,
    steps,
    write_steps,
)
from engine.regression.store import last_regression_run
from engine.services.regress import regress, run_model_suite


@dataclass(frozen=True, slots=True)
class RequirementsView:
    label: str
    requirements: list  # engine.formats.requirements.Requirement, effective (ratcheted)
    baseline: dict
    steps: list[dict]  # oldest first


@dataclass(frozen=True, slots=True)
class Proposed:
    label: str
    proposals: list  # engine.regression.ratchet.Proposal
    run_id: int | None  # the stored run the proposal came from
    passed: bool  # a proposal only comes from a passing run
    problems: list[str]


@dataclass(frozen=True, slots=True)
class Ratcheted:
    """`ratchet requirements ratchet`: the suite measured now, and the steps it led to."""

    label: str
    passed: bool
    problems: list[str]
    proposals: list[Proposal]  # as written (or as proposed, on a dry run)
    written: Written | None  # None: a dry run, or a failed suite


@dataclass(frozen=True, slots=True)
class BoundSet:
    label: str
    requirement: Requirement  # the requirement as it was
    value: float
    written: Written


@dataclass(frozen=True, slots=True)
class _Measured:
    """What ratchet.propose reads of a SuiteResult, rebuilt from a stored run."""

    requirements: list


@dataclass(frozen=True, slots=True)
class _Value:
    metric: str
    value: float | None


def show(registry, model_ref: str | None = None) -> RequirementsView:
    _model, label = registry.load_model(model_ref)
    data = registry.bundle_members(label)["requirements.json"]
    model_id = parse_ref(label)[0]
    return RequirementsView(label, effective_requirements(registry.db, model_id, data),
                            baseline(data), steps(registry.db, model_id))


def ratchet(registry, model_ref: str | None, why: str, *, dry_run: bool = False,
            progress: Progress = no_progress, cancel: CancelToken | None = None) -> Ratcheted:
    """Measure (the suite runs now), propose, then record. The measured version must still be
    the one in use when no version was named."""
    suite = run_model_suite(registry, model_ref, progress=progress, cancel=cancel)
    label = suite.result.model
    if not suite.result.passed:
        return Ratcheted(label, False, suite.result.problems, [], None)
    model_id, version = parse_ref(label)
    proposals = propose(suite.requirements, suite.result)
    if dry_run:
        return Ratcheted(label, True, [], proposals, None)
    named = model_ref is not None and parse_ref(model_ref)[1] is not None
    written = write_steps(registry.db, model_id, proposals, why,
                          requirements=registry.bundle_members(label)["requirements.json"],
                          active_version=None if named else int(version),
                          writer="requirements ratchet")
    return Ratcheted(label, True, [], written.steps, written)


def propose_from_last_run(registry, model_ref: str | None = None, *,
                          progress: Progress = no_progress,
                          cancel: CancelToken | None = None) -> Proposed:
    """New bounds from the last regression run of this very version (the suite runs, and is
    recorded, when there is none yet)."""
    _model, label = registry.load_model(model_ref)
    last = last_regression_run(registry.db, label)
    if last is None:
        run = regress(registry, label, progress=progress, cancel=cancel)
        last = (run.run_id, run.result.to_json())
    run_id, doc = last
    data = registry.bundle_members(label)["requirements.json"]
    reqs = effective_requirements(registry.db, parse_ref(label)[0], data)
    passed = bool(doc.get("passed"))
    measured = _Measured([_Value(r["metric"], r.get("value"))
                          for r in doc.get("requirements", [])])
    proposals = propose(reqs, measured) if passed else []
    return Proposed(label, proposals, run_id, passed, list(doc.get("problems", [])))


def apply(registry, label: str, proposals: list[Proposal], why: str) -> int:
    """Record the proposals the operator reviewed; how many steps were recorded."""
    return apply_steps(registry.db, parse_ref(label)[0], proposals, why)


def set_bound(registry, model_ref: str | None, metric: str, value: float, why: str,
              override: bool = False) -> BoundSet:
    """One overall bound by hand; lowering it needs ``override`` (recorded as one)."""
    _model, label = registry.load_model(model_ref)
    model_id = parse_ref(label)[0]
    data = registry.bundle_members(label)["requirements.json"]
    reqs = effective_requirements(registry.db, model_id, data)
    req = next((r for r in reqs if r.metric == metric and r.applies == "overall"), None)
    if req is None:
        raise InputError(f"{label} has no requirement on {metric!r}; it has "
                         f"{', '.join(r.metric for r in reqs) or 'none'}.", "E_METRIC")
    step = Proposal(req.metric, req.bound_name, req.bound, value, float("nan"), req.applies)
    written = write_steps(registry.db, model_id, [step], why, override=override,
                          requirements=data, mode="set", writer="requirements set")
    return BoundSet(label, req, value, written)
