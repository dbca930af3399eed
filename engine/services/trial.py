"""Gate and trial: the promotion gate of a candidate (stored with its report), starting its
shadow trial when the gate accepts, where a trial stands, and accepting (the challenger
activated, the requirements ratcheted up) or rejecting it. The decisions are engine.trial's;
a service holds each step once for `ratchet gate | trial ...` and the app's Trial page."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.formats.report_pdf import write_report_file
from engine.progress import CancelToken, Progress, no_progress
from engine.trial import gate as gates
from engine.trial import trial as trials
from engine.trial.gate_result import GateResult
from engine.trial.status import TrialStatus


@dataclass(frozen=True, slots=True)
class GateSetup:
    """The candidate and the gate's options (the arguments of `ratchet gate`)."""

    candidate: str | Path  # a bundle file (verified, not installed) or an installed "ID@V"
    corpus: str | Path
    time_column: str
    by: str = "month"
    latest: str | Path | None = None
    margin: float | None = None
    tolerance: float = gates.TOLERANCE
    timezone: str | None = None  # the zone the back-test's months are taken in (None: as written)

    def options(self) -> dict:
        return {"corpus": self.corpus, "time_column": self.time_column, "by": self.by,
                "latest": self.latest, "margin": self.margin, "tolerance": self.tolerance,
                "timezone": self.timezone}


def gate(registry, setup: GateSetup, *, report: Path | None = None,
         progress: Progress = no_progress, cancel: CancelToken | None = None) -> GateResult:
    """Verdict, reasons and checks; stored with its report (``report``, default the
    workspace's reports folder). A cancelled or refused run records nothing."""
    _check(cancel)
    return gates.run_gate(registry, setup.candidate, progress=progress, cancel=cancel,
                          report=report, **setup.options())


def start(registry, setup: GateSetup, *, batches: int | None = None,
          days: float | None = None, gate_id: int | None = None, report: Path | None = None,
          progress: Progress = no_progress,
          cancel: CancelToken | None = None) -> tuple[GateResult, TrialStatus | None]:
    """With ``gate_id`` (an accepting gate run) the engine reuses that run when it gated these
    very bytes with this setup against the active champion and today's requirements, and
    refuses otherwise; without it the gate runs. When the gate accepts, the challenger is
    installed (not activated) and its trial starts; the status is None when it rejects."""
    _check(cancel)
    return trials.start_trial(registry, setup.candidate, batches=batches, days=days,
                              progress=progress, cancel=cancel, gate_id=gate_id,
                              report=report, **setup.options())


def status(registry, model_id: str | None = None, trial_id: int | None = None) -> TrialStatus:
    """The trial ``trial_id``, else the running trial of ``model_id`` (or of the only model
    with one), else the latest trial."""
    return trials.trial_status(registry, model_id, trial_id)


def accept(registry, model_id: str | None = None, force: bool = False,
           why: str | None = None) -> trials.AcceptOutcome:
    """Refused (nothing changes) before the trial is due or after a shadow miss, unless
    ``force`` (recorded with what it overrode)."""
    return trials.accept_trial(registry, model_id, force=force, why=why)


def reject(registry, reason: str, model_id: str | None = None) -> TrialStatus:
    """The reason is required and recorded; the champion stays."""
    return trials.reject_trial(registry, reason, model_id)


def accept_anyway(registry, gate_id: int, why: str) -> GateResult:
    """A gate run rejected only on bounds the champion misses too, accepted anyway with the
    reason: recorded as a gate run of its own (engine.trial.gate_override), from which the
    trial can start."""
    from engine.trial.gate_override import accept_anyway as force

    return force(registry, gate_id, why)


def lower_bound(registry, result: GateResult, metric: str, value: float, why: str):
    """The other way forward: lower a bound the champion misses too, on the record (an override
    step of the model's requirements at the scope the gate judged by, as `ratchet requirements
    set METRIC VALUE --why ... --override` does for an overall bound); the gate must then run
    again. Returns the steps written (engine.regression.ratchet.Written)."""
    from engine.errors import InputError
    from engine.registry.refs import parse_ref
    from engine.regression.ratchet import Proposal, write_steps

    missed = next((m for m in result.champion_misses if m["metric"] == metric), None)
    if missed is None:
        raise InputError(f"gate run {result.id} found no bound on {metric!r} that the champion "
                         "misses too; change other bounds on the Requirements page.",
                         "E_METRIC")
    step = Proposal(metric, missed["bound_name"], missed["bound"], float(value), float("nan"),
                    missed["applies"])
    return write_steps(registry.db, parse_ref(result.champion)[0], [step], why, override=True,
                       mode="set", writer="gate: lower a bound the champion misses")


def write_gate_report(result: GateResult, path: Path, workspace: Path | None = None) -> Path:
    """The gate's self-contained HTML report (PDF for .pdf), written atomically, stamped."""
    gates.check_report_path(Path(path))
    return write_report_file(gates.stamped_report(result, workspace), Path(path))


def _check(cancel: CancelToken | None) -> None:
    if cancel is not None:
        cancel.check()
