"""The Regression page's work: run a model's suite (with its pinned outliers and its effective
requirements), record the run, read the history of runs, export the HTML report, and pin a
row from a predictions file as an outlier case."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from engine.ground.fileio import write_atomic
from engine.progress import CancelToken, Progress
from engine.registry.refs import parse_ref
from engine.registry.registry import Registry
from engine.regression.report import render
from engine.regression.store import record_regression_run
from engine.regression.suite import SuiteResult, run_suite

HISTORY_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Run:
    """One row of the regression_runs history."""

    id: int
    model: str
    passed: bool
    cases: int
    cases_failed: int
    at: str
    user: str
    problems: list[str]


@dataclass(frozen=True, slots=True)
class Outcome:
    result: SuiteResult
    run_id: int
    history: list[Run]
    pinned: int  # how many of result.cases are this workstation's pinned outliers (the last)





def _history(db, model_id: str | None) -> list[Run]:
    sql = "SELECT * FROM regression_runs"
    args: tuple = ()
    if model_id:
        sql += " WHERE model LIKE ?"
        args = (f"{model_id}@%",)
    rows = db.execute(f"{sql} ORDER BY id DESC LIMIT {HISTORY_LIMIT}", args).fetchall()
    out = []
    for r in rows:
        try:
            problems = list(json.loads(r["result_json"]).get("problems", []))
        except (ValueError, AttributeError):
            problems = []
        out.append(Run(r["id"], r["model"], bool(r["passed"]), r["cases"], r["cases_failed"],
                       r["at"], r["user"], problems))
    return out


def history(workspace: Path, model_ref: str | None = None, *, progress: Progress,
            cancel: CancelToken) -> list[Run]:
    """The model's past runs, newest first (every model's when none is chosen)."""
    registry = Registry.open(workspace)
    try:
        return _history(registry.db, parse_ref(model_ref)[0] if model_ref else None)
    finally:
        registry.close()


def suite_of(registry: Registry, model_ref: str | None, progress: Progress,
             cancel: CancelToken) -> tuple[SuiteResult, int]:
    """Run the suite as `ratchet regress` does: the bundle's cases, the pinned outliers of
    the model id, and the effective (ratcheted) requirements when the engine has them."""
    model, label = registry.load_model(model_ref)
    members = registry.bundle_members(label)
    model_id = parse_ref(label)[0]
    extra: dict = {}
    pinned = 0
    try:
        from engine.regression.outliers import list_pinned, pinned_csv

        extra["pinned"] = pinned_csv(registry.db, model_id, model)
        pinned = len(list_pinned(registry.db, model_id)) if extra["pinned"] else 0
    except ImportError:
        pass
    try:
        from engine.regression.ratchet import effective_requirements

        extra["requirements_override"] = effective_requirements(
            registry.db, model_id, members["requirements.json"])
    except ImportError:
        pass
    result = run_suite(model, label, members["requirements.json"],
                       members["regression_cases.csv"], progress=progress, cancel=cancel,
                       **extra)
    return result, pinned


def run_regression(workspace: Path, model_ref: str | None = None, *, progress: Progress,
                   cancel: CancelToken) -> Outcome:
    """Run the suite, record the run in the workspace history, and read the history back."""
    registry = Registry.open(workspace)
    try:
        result, pinned = suite_of(registry, model_ref, progress, cancel)
        run_id = record_regression_run(registry.db, result)
        return Outcome(result, run_id, _history(registry.db, parse_ref(result.model)[0]), pinned)
    finally:
        registry.close()


def export_report(result: SuiteResult, path: Path, *, progress: Progress,
                  cancel: CancelToken) -> Path:
    write_atomic(Path(path), render(result, f"Regression suite of {result.model}")
                 .encode("utf-8"))
    return Path(path)


def pin_outlier(workspace: Path, model_ref: str | None, inputs: dict[str, str], note: str,
                source: str, *, progress: Progress, cancel: CancelToken) -> tuple[int, str]:
    """Pin one row as an outlier case of the model; returns (pinned id, model label)."""
    from engine.regression.outliers import pin_row

    registry = Registry.open(workspace)
    try:
        model, label = registry.load_model(model_ref)
        return pin_row(registry.db, parse_ref(label)[0], inputs, note, source, model), label
    finally:
        registry.close()


# -- the Requirements page -----------------------------------------------------------------
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
class _Measured:
    """What ratchet.propose reads of a SuiteResult, rebuilt from a stored run."""

    requirements: list


@dataclass(frozen=True, slots=True)
class _Value:
    metric: str
    value: float | None


def load_requirements(workspace: Path, model_ref: str | None = None, *, progress: Progress,
                      cancel: CancelToken) -> RequirementsView:
    from engine.regression.ratchet import baseline, effective_requirements, steps

    registry = Registry.open(workspace)
    try:
        _model, label = registry.load_model(model_ref)
        data = registry.bundle_members(label)["requirements.json"]
        model_id = parse_ref(label)[0]
        return RequirementsView(label, effective_requirements(registry.db, model_id, data),
                                baseline(data), steps(registry.db, model_id))
    finally:
        registry.close()


def _last_run(db, label: str) -> tuple[int, dict] | None:
    row = db.execute("SELECT id, result_json FROM regression_runs WHERE model = ? "
                     "ORDER BY id DESC LIMIT 1", (label,)).fetchone()
    return None if row is None else (row["id"], json.loads(row["result_json"]))


def propose_ratchet(workspace: Path, model_ref: str | None = None, *, progress: Progress,
                    cancel: CancelToken) -> Proposed:
    """New bounds from the last regression run of this very version (the suite runs, and is
    recorded, when there is none yet)."""
    from engine.regression.ratchet import effective_requirements, propose

    registry = Registry.open(workspace)
    try:
        _model, label = registry.load_model(model_ref)
        last = _last_run(registry.db, label)
        if last is None:
            result, _pinned = suite_of(registry, label, progress, cancel)
            last = (record_regression_run(registry.db, result), result.to_json())
        run_id, doc = last
        data = registry.bundle_members(label)["requirements.json"]
        reqs = effective_requirements(registry.db, parse_ref(label)[0], data)
    finally:
        registry.close()
    passed = bool(doc.get("passed"))
    measured = _Measured([_Value(r["metric"], r.get("value"))
                          for r in doc.get("requirements", [])])
    proposals = propose(reqs, measured) if passed else []
    return Proposed(label, proposals, run_id, passed, list(doc.get("problems", [])))


def apply_ratchet(workspace: Path, label: str, proposals: list, why: str, *,
                  progress: Progress, cancel: CancelToken) -> int:
    from engine.regression.ratchet import apply_steps

    registry = Registry.open(workspace)
    try:
        return apply_steps(registry.db, parse_ref(label)[0], proposals, why)
    finally:
        registry.close()
