"""The trial: start (the gate, then the challenger installed beside the champion without being
activated), status, accept (activation with the ratchet step of the requirements, in one
transaction) and reject (the reason recorded).

A rejected challenger stays installed but inactive: the rollback state already counts its
version as accepted (deleting the file would not undo that, and would leave the trial's
shadow outputs and the gate run pointing at a bundle nobody can inspect), and an inactive
version is never used for the operator's predictions or now-tests.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import EngineError, InputError
from engine.formats.requirements import Requirement
from engine.ground.database import ACCEPTED, REJECTED, RUNNING, write_transaction
from engine.progress import CancelToken, Progress, no_progress
from engine.regression import ratchet
from engine.regression.ratchet import (
    Proposal,
    effective_requirements,
    insert_steps,
    propose_from,
)
from engine.trial import evidence
from engine.trial.gate import TOLERANCE, gate_candidate
from engine.trial.gate_result import GateResult
from engine.trial.gate_reuse import reusable_gate
from engine.trial.status import TrialStatus, build_status
from engine.trial.store import close_trial, get_gate, get_trial, insert_trial, running_trial

DEFAULT_BATCHES = 5  # when neither a number of batches nor of days is declared


@dataclass(frozen=True, slots=True)
class AcceptOutcome:
    accepted: bool
    status: TrialStatus
    refusals: list[str] = field(default_factory=list)  # why it was not accepted (or forced)
    steps: list[Proposal] = field(default_factory=list)  # the ratchet steps applied
    measured: dict = field(default_factory=dict)  # "metric (applies)" -> [value, where]

    def to_json(self) -> dict:
        return {"accepted": self.accepted, "refusals": self.refusals,
                "steps": [{"metric": p.metric, "applies": p.applies, p.bound_name: p.proposed,
                           "was": p.current, "measured": p.measured} for p in self.steps],
                "measured": self.measured, "trial": self.status.to_json()}


def _check_targets(batches: int | None, days: float | None) -> None:
    if batches is not None and batches < 1:
        raise InputError(f"--batches must be 1 or more, not {batches}.", "E_USAGE")
    if days is not None and (not math.isfinite(days) or days <= 0):
        raise InputError(f"--days must be a number above 0, not {days}.", "E_USAGE")


def start_trial(registry, bundle: str | Path, corpus, time_column: str, by: str = "month",
                latest=None, batches: int | None = None, days: float | None = None,
                margin: float | None = None, tolerance: float = TOLERANCE,
                progress: Progress = no_progress, cancel: CancelToken | None = None,
                report: Path | None = None, timezone: str | None = None,
                gate_id: int | None = None) -> tuple[GateResult, TrialStatus | None]:
    """Gate the candidate; when the gate accepts, install it without activating it and start
    its trial (None when the gate rejects: nothing is installed). One running trial per model
    id. `batches` / `days`: how long it runs before it can be accepted (default
    DEFAULT_BATCHES batches).

    `gate_id`: an accepting gate run already stored for exactly these bundle bytes, this
    champion, these gate options and today's requirements is used instead of gating again
    (engine.trial.gate_reuse); anything different is refused with what differs (InputError, nothing
    installed) rather than silently gating again: the operator asked for that run, and a
    silent re-run would turn a moment into minutes without saying why."""
    from engine.trial.candidate import load_candidate

    _check_targets(batches, days)
    if batches is None and days is None:
        batches = DEFAULT_BATCHES
    candidate = load_candidate(registry, bundle)
    _refuse_second(registry, candidate.model_id)
    if gate_id is not None:
        gate = reusable_gate(registry, gate_id, candidate, corpus, time_column, by, latest,
                             margin, tolerance, timezone)
        progress(1.0, f"Using gate run {gate_id} (accept)")
    else:
        gate = gate_candidate(registry, candidate, corpus, time_column, by, latest, margin,
                              tolerance, progress, cancel, report, timezone=timezone)
    if not gate.accepted:
        return gate, None
    if candidate.data is not None:
        registry.import_bundle(candidate.data, activate=False)
    ratchet.race_window("trial start", candidate.model_id)
    try:
        trial_id = insert_trial(registry.db, candidate.model_id, gate.champion, gate.candidate,
                                candidate.bundle_sha256, gate.id, batches, days,
                                check_champion=True)
    except sqlite3.IntegrityError:
        _refuse_second(registry, candidate.model_id)
        raise
    return gate, build_status(registry, get_trial(registry.db, trial_id))


def _refuse_second(registry, model_id: str) -> None:
    other = running_trial(registry.db, model_id)
    if other is not None:
        raise InputError(f"a trial of {model_id} is already running ({other['challenger']} "
                         f"against {other['champion']}, trial {other['id']}); accept or reject "
                         "it first (`ratchet trial accept` / `ratchet trial reject`).",
                         "E_TRIAL_RUNNING")


def _pick(registry, model_id: str | None, running_only: bool):
    db = registry.db
    if model_id is not None:
        row = running_trial(db, model_id)
        if row is None and not running_only:
            row = db.execute("SELECT * FROM trials WHERE model_id = ? ORDER BY id DESC LIMIT 1",
                             (model_id,)).fetchone()
        if row is None:
            state = "running" if running_only else "recorded"
            raise InputError(f"no trial of {model_id!r} is {state}; start one with `ratchet "
                             "trial start BUNDLE`.", "E_NO_TRIAL")
        return row
    rows = db.execute("SELECT * FROM trials WHERE status = ? ORDER BY id", (RUNNING,)
                      ).fetchall()
    if len(rows) > 1:
        names = ", ".join(r["model_id"] for r in rows)
        raise InputError(f"trials of several models are running ({names}); name one with "
                         "--model ID.", "E_USAGE")
    if rows:
        return rows[0]
    row = None if running_only else db.execute(
        "SELECT * FROM trials ORDER BY id DESC LIMIT 1").fetchone()
    if row is None:
        raise InputError(f"no trial is {'running' if running_only else 'recorded'}; start one "
                         "with `ratchet trial start BUNDLE`.", "E_NO_TRIAL")
    return row


def trial_status(registry, model_id: str | None = None, trial_id: int | None = None,
                 now: dt.datetime | None = None) -> TrialStatus:
    """The trial `trial_id`, else the running trial of `model_id` (or of the only model with
    one), else the latest trial."""
    if trial_id is not None:
        row = get_trial(registry.db, trial_id)
        if row is None:
            raise InputError(f"there is no trial {trial_id}.", "E_NO_TRIAL")
    else:
        row = _pick(registry, model_id, running_only=False)
    return build_status(registry, row, now)


def _check_champion(registry, row) -> None:
    model_id = row["model_id"]
    active = registry.active_version(model_id)
    if f"{model_id}@{active}" != row["champion"]:
        raise EngineError(f"{row['champion']} is no longer the active version of {model_id} "
                          f"(it is {model_id}@{active}), so trial {row['id']} no longer tests "
                          "the challenger against the model in use; reject it and start a new "
                          "one.", "E_TRIAL_STALE")


def _check_running(db, trial_id: int) -> None:
    row = get_trial(db, trial_id)
    if row is None or row["status"] != RUNNING:
        state = "gone" if row is None else f"{row['status']} by {row['closed_by']} at " \
            f"{row['closed_at']}"
        raise EngineError(f"trial {trial_id} is no longer running ({state}); nothing was "
                          "changed. `ratchet trial status` shows it.", "E_TRIAL_CLOSED")


@dataclass(frozen=True, slots=True)
class _Judgement:
    status: TrialStatus
    refusals: list[str]
    worst: dict
    proposals: list[Proposal]
    carried: list[Proposal]
    before: list[dict]  # the champion's requirements in force, for a rollback's record


def _judge(registry, row, challenger, champion_requirements: bytes, now) -> _Judgement:
    """Everything the acceptance decides, from the trial's evidence and the bounds in force
    now (called inside the acceptance's write transaction, so nothing changes under it)."""
    from engine.trial.candidate import gate_requirements

    db, model_id = registry.db, row["model_id"]
    status = build_status(registry, get_trial(db, row["id"]), now)
    champion = effective_requirements(db, model_id, champion_requirements)
    reqs = gate_requirements(effective_requirements(
        db, model_id, challenger.members["requirements.json"]), champion)
    refusals = []
    if not status.due:
        refusals.append(f"the trial has not run its course yet: {status.progress}")
    refusals += evidence.shadow_misses(reqs, status.observations)
    gate = get_gate(db, row["gate_id"])
    worst = evidence.least_favourable(reqs, evidence.measured(reqs, gate, status.observations))
    proposals = propose_from(reqs, {k: v[0] for k, v in worst.items()})
    return _Judgement(status, refusals, worst, proposals,
                      _carried_over(registry, challenger, reqs, proposals),
                      [{"metric": r.metric, "applies": r.applies, "bound_name": r.bound_name,
                        "bound": r.bound} for r in champion])


def accept_trial(registry, model_id: str | None = None, force: bool = False,
                 why: str | None = None, now: dt.datetime | None = None) -> AcceptOutcome:
    """Activate the challenger and ratchet the requirements up from its measured performance,
    in one transaction, and close the trial. Refused (nothing changes) before the declared
    batches / days, or when a labelled shadow observation shows the challenger missing a
    requirement, unless `force` (recorded with what it overrode).

    The bundles are read first; then, inside the write transaction, the trial must still be
    running and its champion still active, and the requirements and steps are judged on the
    bounds in force at that moment: a bound raised meanwhile is never written down over."""
    from engine.trial.candidate import load_candidate

    row = _pick(registry, model_id, running_only=True)
    model_id = row["model_id"]
    _check_champion(registry, row)
    challenger = load_candidate(registry, row["challenger"])
    champion_requirements = registry.bundle_members(row["champion"])["requirements.json"]
    ratchet.race_window("trial accept", model_id)
    with write_transaction(registry.db):
        _check_running(registry.db, row["id"])
        _check_champion(registry, row)
        j = _judge(registry, row, challenger, champion_requirements, now)
        if j.refusals and not force:
            return AcceptOutcome(False, j.status, j.refusals)
        reason = why or (f"trial {row['id']}: {row['challenger']} accepted in place of "
                         f"{row['champion']} ({j.status.progress or 'no target'})")
        if force and j.refusals:
            reason += "; forced over: " + "; ".join(j.refusals)
        registry.activate_in_transaction(model_id, challenger.version, action="trial-accept")
        insert_steps(registry.db, model_id, j.proposals,
                     f"ratchet at acceptance of trial {row['id']} ({row['challenger']}): the "
                     "least favourable value measured by its gate and shadow runs, less the "
                     "margin", trial_id=row["id"])
        insert_steps(registry.db, model_id, j.carried,
                     f"carried over at acceptance of trial {row['id']}: {row['challenger']}'s "
                     f"bundle does not name this requirement, which {row['champion']} was held "
                     "to here and the gate held the challenger to", trial_id=row["id"])
        close_trial(registry.db, row["id"], ACCEPTED, reason, force and bool(j.refusals),
                    j.before)
    measured = {f"{k[0]} ({k[1]})": [v[0], v[1]] for k, v in j.worst.items()}
    return AcceptOutcome(True, build_status(registry, get_trial(registry.db, row["id"]), now),
                         j.refusals if force else [], j.proposals, measured)


def _carried_over(registry, challenger, reqs: list[Requirement], proposals: list[Proposal]
                  ) -> list[Proposal]:
    """A step at today's bound for each requirement the gate held the challenger to (the
    champion's) that neither its own effective requirements nor a rising step name: so the
    requirement stays in force once the challenger is active (requirements only rise)."""
    own = {(r.metric, r.applies) for r in effective_requirements(
        registry.db, challenger.model_id, challenger.members["requirements.json"])}
    own |= {(p.metric, p.applies) for p in proposals}
    return [Proposal(r.metric, r.bound_name, r.bound, r.bound, float("nan"), r.applies)
            for r in reqs if (r.metric, r.applies) not in own]


def reject_trial(registry, reason: str, model_id: str | None = None,
                 now: dt.datetime | None = None) -> TrialStatus:
    """Close the running trial with the reason recorded; the champion stays active and the
    challenger stays installed but inactive (see the module docstring)."""
    if not reason or not reason.strip():
        raise InputError("say why the challenger is rejected (--reason); it is recorded.",
                         "E_USAGE")
    row = _pick(registry, model_id, running_only=True)
    ratchet.race_window("trial reject", row["model_id"])
    with write_transaction(registry.db):
        _check_running(registry.db, row["id"])
        close_trial(registry.db, row["id"], REJECTED, reason.strip())
    return build_status(registry, get_trial(registry.db, row["id"]), now)


def list_trial_rows(registry, model_id: str | None = None) -> list[dict]:
    """Every trial, latest first, as stored (for the app's list)."""
    from engine.trial.store import list_trials

    return [{**r, "champion_requirements": json.loads(r["champion_requirements"] or "null")}
            for r in list_trials(registry.db, model_id)]
