"""The Trial page's work: the promotion gate of a candidate, starting its shadow trial, where
the trials stand, accepting or rejecting the running one, and the gate's HTML report. Every
decision is the engine's (engine.trial), each step held once in engine.services.trial (as
`ratchet gate | trial ...` run it); these functions open the workspace around it and shape
what the page shows.

Every function here runs as a job (gui.workers): ``fn(..., progress=..., cancel=...)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import InputError
from engine.ground.database import RUNNING
from engine.progress import CancelToken, Progress
from engine.registry.registry import Registry
from engine.services import trial as service
from engine.services.trial import GateSetup
from engine.trial import trial as trials
from engine.trial.gate_result import GateResult
from engine.trial.status import TrialStatus
from engine.trial.store import get_gate, list_gates

LIMIT = 50  # trials and gate runs listed in the history


@dataclass(frozen=True, slots=True)
class Shown:
    """A trial as the page shows it: its status, and what its gate held the challenger to."""

    status: TrialStatus
    metric: str = ""  # the primary metric
    requirements: list[dict] = field(default_factory=list)  # metric, bound_name, bound, applies

    @property
    def running(self) -> bool:
        return self.status.status == RUNNING


@dataclass(frozen=True, slots=True)
class Overview:
    candidates: list[str]  # installed versions that are not active ("ID@V"), to gate
    running: Shown | None  # the running trial (the newest one, if several models have one)
    trials: list[dict]  # every trial, newest first (engine.trial.trial.list_trial_rows)
    gates: list[dict]  # gate runs, newest first (engine.trial.store.list_gates)


@dataclass(frozen=True, slots=True)
class GateOutcome:
    gate: GateResult
    trial: Shown | None  # started (start only; None when the gate rejected)
    overview: Overview


def _shown(registry, status: TrialStatus) -> Shown:
    gate = get_gate(registry.db, status.gate_id) or {}
    return Shown(status, gate.get("metric", ""), list(gate.get("requirements", [])))


def _overview(registry) -> Overview:
    candidates = [f"{v.model_id}@{v.version}" for v in registry.versions() if not v.active]
    rows = trials.list_trial_rows(registry)[:LIMIT]
    running = next((r for r in rows if r["status"] == RUNNING), None)
    shown = None if running is None else _shown(
        registry, service.status(registry, trial_id=running["id"]))
    return Overview(candidates, shown, rows, list_gates(registry.db, LIMIT))


def overview(workspace: Path, *, progress: Progress, cancel: CancelToken) -> Overview:
    registry = Registry.open(workspace)
    try:
        return _overview(registry)
    finally:
        registry.close()


def trial(workspace: Path, trial_id: int, *, progress: Progress,
          cancel: CancelToken) -> Shown:
    """One trial (running or closed) by its number."""
    registry = Registry.open(workspace)
    try:
        return _shown(registry, service.status(registry, trial_id=trial_id))
    finally:
        registry.close()


def past_gate(workspace: Path, gate_id: int, *, progress: Progress,
              cancel: CancelToken) -> GateResult:
    """A gate run of the history, read back with its evidence (its report can be exported
    again)."""
    registry = Registry.open(workspace)
    try:
        doc = get_gate(registry.db, gate_id)
    finally:
        registry.close()
    if doc is None:
        raise InputError(f"there is no gate run {gate_id} in this workspace.", "E_NO_GATE")
    return GateResult.from_json(doc)


def gate(workspace: Path, setup: GateSetup, *, progress: Progress,
         cancel: CancelToken) -> GateOutcome:
    """`ratchet gate`: verdict, reasons, checks; stored with its report (a cancelled or
    refused run records nothing)."""
    registry = Registry.open(workspace)
    try:
        result = service.gate(registry, setup, progress=progress, cancel=cancel)
        return GateOutcome(result, None, _overview(registry))
    finally:
        registry.close()


def start(workspace: Path, setup: GateSetup, batches: int | None, days: float | None,
          gate_id: int | None = None, *, progress: Progress,
          cancel: CancelToken) -> GateOutcome:
    """`ratchet trial start` (engine.services.trial.start): with ``gate_id`` (the accepting
    gate run the page shows) that run is reused when it still holds, and refused otherwise;
    without it the gate runs. When the gate accepts, the challenger is installed (not
    activated) and its trial starts."""
    registry = Registry.open(workspace)
    try:
        result, status = service.start(registry, setup, batches=batches, days=days,
                                       gate_id=gate_id, progress=progress, cancel=cancel)
        shown = None if status is None else _shown(registry, status)
        return GateOutcome(result, shown, _overview(registry))
    finally:
        registry.close()


def comparable(workspace: Path, specs: list, columns: list[str] | None, *,
               progress: Progress, cancel: CancelToken) -> dict:
    """Each gate candidate (installed "ID@V" or bundle file) -> None when the gate can compare
    it with its champion on a corpus with ``columns`` (None: no corpus yet), else why not."""
    from engine.backtest.comparable import check_candidates

    registry = Registry.open(workspace)
    try:
        return check_candidates(registry, list(specs), columns)
    finally:
        registry.close()


def lower_and_gate(workspace: Path, result: GateResult, metric: str, value: float, why: str,
                   setup: GateSetup, *, progress: Progress, cancel: CancelToken) -> GateOutcome:
    """Lower a bound the champion misses too (an override step with the reason), then run the
    gate again with the same choices."""
    registry = Registry.open(workspace)
    try:
        service.lower_bound(registry, result, metric, value, why)
        again = service.gate(registry, setup, progress=progress, cancel=cancel)
        return GateOutcome(again, None, _overview(registry))
    finally:
        registry.close()


def accept_anyway(workspace: Path, gate_id: int, why: str, *, progress: Progress,
                  cancel: CancelToken) -> GateOutcome:
    """Accept a rejected candidate anyway, recorded as a gate run of its own."""
    registry = Registry.open(workspace)
    try:
        forced = service.accept_anyway(registry, gate_id, why)
        return GateOutcome(forced, None, _overview(registry))
    finally:
        registry.close()


@dataclass(frozen=True, slots=True)
class Accepted:
    outcome: trials.AcceptOutcome
    shown: Shown
    overview: Overview


def accept(workspace: Path, model_id: str, force: bool = False, why: str | None = None, *,
           progress: Progress, cancel: CancelToken) -> Accepted:
    """`ratchet trial accept`: refused (nothing changes) before the trial is due or after a
    shadow miss, unless ``force`` (recorded with what it overrode)."""
    registry = Registry.open(workspace)
    try:
        outcome = service.accept(registry, model_id, force=force, why=why)
        return Accepted(outcome, _shown(registry, outcome.status), _overview(registry))
    finally:
        registry.close()


def reject(workspace: Path, model_id: str, reason: str, *, progress: Progress,
           cancel: CancelToken) -> tuple[Shown, Overview]:
    """`ratchet trial reject`: the reason is required and recorded; the champion stays."""
    registry = Registry.open(workspace)
    try:
        status = service.reject(registry, reason, model_id)
        return _shown(registry, status), _overview(registry)
    finally:
        registry.close()


def export_report(result: GateResult, path: Path, *, progress: Progress,
                  cancel: CancelToken, workspace: Path | None = None) -> Path:
    """The gate's self-contained HTML report, written atomically, stamped."""
    return service.write_gate_report(result, path, workspace)
