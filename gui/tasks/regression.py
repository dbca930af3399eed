"""The Regression and Requirements pages' work, on the engine's services (engine.services.regress
and engine.services.requirements, which `ratchet regress` and `ratchet requirements` use too):
run a model's suite and record it, read the history of runs, export the HTML report, pin a row
from a predictions file as an outlier case, and show, propose and apply requirement steps."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from engine.progress import CancelToken, Progress
from engine.registry.refs import parse_ref
from engine.registry.registry import Registry
from engine.regression.store import list_regression_runs
from engine.regression.suite import SuiteResult
from engine.services import regress, requirements
from engine.services.requirements import Proposed, RequirementsView

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
    out = []
    for r in list_regression_runs(db, model_id, HISTORY_LIMIT):
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
    """Run the suite as `ratchet regress` does (engine.services.regress.run_model_suite);
    (result, how many of its cases are pinned outliers). Nothing is recorded."""
    suite = regress.run_model_suite(registry, model_ref, progress=progress, cancel=cancel)
    return suite.result, suite.pinned


def run_regression(workspace: Path, model_ref: str | None = None, *, progress: Progress,
                   cancel: CancelToken) -> Outcome:
    """Run the suite, record the run in the workspace history, and read the history back."""
    registry = Registry.open(workspace)
    try:
        run = regress.regress(registry, model_ref, progress=progress, cancel=cancel)
        return Outcome(run.result, run.run_id,
                       _history(registry.db, parse_ref(run.result.model)[0]), run.pinned)
    finally:
        registry.close()


def export_report(result: SuiteResult, path: Path, *, progress: Progress,
                  cancel: CancelToken, workspace: Path | None = None) -> Path:
    return regress.write_report(result, path, workspace)


def pin_outlier(workspace: Path, model_ref: str | None, inputs: dict[str, str], note: str,
                source: str, *, progress: Progress, cancel: CancelToken) -> tuple[int, str]:
    """Pin one row as an outlier case of the model; returns (pinned id, model label)."""
    registry = Registry.open(workspace)
    try:
        return regress.pin_outlier(registry, model_ref, inputs, note, source)
    finally:
        registry.close()


# -- the Requirements page -----------------------------------------------------------------
def load_requirements(workspace: Path, model_ref: str | None = None, *, progress: Progress,
                      cancel: CancelToken) -> RequirementsView:
    registry = Registry.open(workspace)
    try:
        return requirements.show(registry, model_ref)
    finally:
        registry.close()


def propose_ratchet(workspace: Path, model_ref: str | None = None, *, progress: Progress,
                    cancel: CancelToken) -> Proposed:
    """New bounds from the last regression run of this very version (the suite runs, and is
    recorded, when there is none yet)."""
    registry = Registry.open(workspace)
    try:
        return requirements.propose_from_last_run(registry, model_ref, progress=progress,
                                                  cancel=cancel)
    finally:
        registry.close()


def apply_ratchet(workspace: Path, label: str, proposals: list, why: str, *,
                  progress: Progress, cancel: CancelToken) -> int:
    registry = Registry.open(workspace)
    try:
        return requirements.apply(registry, label, proposals, why)
    finally:
        registry.close()
