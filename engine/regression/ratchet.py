"""The ratchet: requirements only ever rise, unless someone overrides, on the record.

The bundle's requirements.json is the starting point; every step a workstation takes (who, when,
why, old and new bound) is stored in the workspace, and the effective requirement of a metric is
the stricter of the bundle's bound and the latest step in force (an override step's bound as is).
A requirement that only this workstation's steps name stays in force whatever a later bundle
omits. Steps of a trial whose acceptance was rolled back are no longer in force (they and the
rollback's record of undoing them stay in the history). Ratchet proposes new bounds from
measured performance, never below today's; applying them is an explicit action, and lowering one
needs `override=True`, which is recorded too.

Every writer of steps reads the bounds (and measures) outside the write lock, then re-judges its
steps against the bounds in force inside the one write transaction that records them
(`write_steps`): a bound that rose meanwhile is never written down over, and a step's `old` is
the bound it actually replaced. `race_window` marks the gap between the two for tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from engine.errors import EngineError
from engine.formats.requirements import Requirement, parse_requirements
from engine.ground import faults
from engine.ground.clock import current_user, now_text
from engine.ground.database import ROLLED_BACK, write_transaction
from engine.ground.strict_json import parse_strict
from engine.metrics import METRICS

# A proposal keeps this much room below the measured value (above it for error metrics), so a
# model does not fail its next run on noise alone.
MARGIN = 0.005


@dataclass(frozen=True, slots=True)
class Proposal:
    metric: str
    bound_name: str
    current: float
    proposed: float
    measured: float
    applies: str = "overall"


@dataclass(frozen=True, slots=True)
class Dropped:
    """A proposed step not written: the bound in force had become at least as strict."""
    proposal: Proposal
    in_force: float

    def to_json(self) -> dict:
        p = self.proposal
        return {"metric": p.metric, "applies": p.applies, p.bound_name: p.proposed,
                "in_force": self.in_force, "measured": p.measured,
                "why": f"the {p.bound_name} in force rose to {self.in_force:g} meanwhile"}


@dataclass(frozen=True, slots=True)
class Written:
    steps: list[Proposal]  # as recorded: `current` is the bound in force they replaced
    dropped: list[Dropped]


def race_window(writer: str, model_id: str) -> None:
    """Called by every writer of requirement steps (and of trials) between its reads outside
    the write lock and its write transaction. Does nothing; a test replaces it to run a
    competing writer exactly there."""


def steps(db, model_id: str) -> list[dict]:
    rows = db.execute("SELECT * FROM requirement_steps WHERE model_id = ? ORDER BY id",
                      (model_id,)).fetchall()
    return [dict(r) for r in rows]


def steps_in_force(db, model_id: str) -> list[dict]:
    """The steps that still count, oldest first: all but those of a trial whose acceptance
    was rolled back (its ratchet steps and the rollback's undo steps, which record it)."""
    rows = db.execute(
        "SELECT s.* FROM requirement_steps s LEFT JOIN trials t ON t.id = s.trial_id "
        "WHERE s.model_id = ? AND (t.status IS NULL OR t.status != ?) ORDER BY s.id",
        (model_id, ROLLED_BACK)).fetchall()
    return [dict(r) for r in rows]


def effective_requirements(db, model_id: str, requirements: bytes) -> list[Requirement]:
    """The bundle's requirements with this workstation's steps in force applied: the stricter
    of the bundle's bound and the latest step, so a newer bundle's higher bound is never
    undercut by a step taken for an older version; only an override step loosens. Then the
    requirements only steps name (metric and scope the bundle lacks) at the latest step's
    bound, so nothing this workstation ratcheted vanishes when a bundle omits it."""
    latest = {(s["metric"], s["applies"]): s for s in steps_in_force(db, model_id)}
    out = []
    for r in parse_requirements(requirements):
        step = latest.pop((r.metric, r.applies), None)
        if step is None:
            out.append(r)
        elif step["override"]:
            out.append(replace(r, bound=step["new"]))
        else:
            stricter = max if r.higher_is_better else min
            out.append(replace(r, bound=stricter(r.bound, step["new"])))
    # a step-only requirement must suit the model's task as the bundle's own do (a version
    # with another task under the same model id keeps steps it could not be measured on)
    kinds = {METRICS[r.metric] == "values" for r in out}
    for (metric, applies), step in latest.items():
        if metric in METRICS and (not kinds or (METRICS[metric] == "values") in kinds):
            out.append(Requirement(metric, step["new"], applies))
    return out


def baseline(requirements: bytes) -> dict:
    doc = parse_strict(requirements)
    return doc.get("baseline", {}) if isinstance(doc, dict) else {}


def propose(reqs: list[Requirement], result) -> list[Proposal]:
    """New bounds from a passing run's measured values: never looser than today's. The
    regression suite measures the overall requirements only (on the reference sample), so a
    per-partition bound is never raised from it."""
    measured = {r.metric: r.value for r in result.requirements}
    return propose_from(reqs, {(r.metric, r.applies): measured[r.metric] for r in reqs
                               if r.applies == "overall" and measured.get(r.metric) is not None})


def propose_from(reqs: list[Requirement], measured: dict[tuple[str, str], float]
                 ) -> list[Proposal]:
    """New bounds from a measured value per requirement ((metric, applies) -> value), each
    keeping MARGIN of room and never looser than today's bound."""
    out = []
    for req in reqs:
        value = measured.get((req.metric, req.applies))
        if value is None or not math.isfinite(value):
            continue
        if req.higher_is_better:
            proposed = max(req.bound, math.floor((value - MARGIN) * 1000) / 1000)
        else:
            proposed = min(req.bound, math.ceil((value + MARGIN) * 1000) / 1000)
        if proposed != req.bound:
            out.append(Proposal(req.metric, req.bound_name, req.bound, proposed, value,
                                req.applies))
    return out


def _check_steps(proposals: list[Proposal], why: str, override: bool) -> None:
    if not why.strip():
        raise EngineError("say why the requirements change; the reason is recorded.",
                          "E_RATCHET_REASON")
    for p in proposals:
        if not math.isfinite(p.proposed):
            raise EngineError(f"{p.metric}: {p.proposed} is not a usable bound; give a finite "
                              "number.", "E_REQUIREMENT_VALUE")
        looser = p.proposed < p.current if p.bound_name == "min" else p.proposed > p.current
        if looser and not override:
            raise EngineError(f"{p.metric}: {p.proposed:g} would lower the requirement from "
                              f"{p.current:g}; requirements only ratchet up unless you override "
                              "(recorded).", "E_RATCHET_LOWER")


def insert_steps(db, model_id: str, proposals: list[Proposal], why: str,
                 override: bool = False, trial_id: int | None = None) -> int:
    """`apply_steps` for a caller that holds the write transaction (a trial's acceptance or
    a rollback, which record more in the same transaction); `trial_id` names the trial."""
    _check_steps(proposals, why, override)
    for p in proposals:
        db.execute("INSERT INTO requirement_steps (model_id, metric, applies, bound_name, "
                   "old, new, why, override, user, at, trial_id) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                   (model_id, p.metric, p.applies, p.bound_name, p.current, p.proposed,
                    why, int(override), current_user(), now_text(), trial_id))
    return len(proposals)


def _stricter(p: Proposal, a: float, b: float) -> bool:
    return a > b if p.bound_name == "min" else a < b


def bounds_in_force(db, model_id: str, requirements: bytes | None, proposals: list[Proposal]
                    ) -> dict[tuple[str, str], float]:
    """(metric, applies) -> the bound in force now, for each proposal. With the bundle's
    requirements, exactly (effective_requirements); without them, from the proposal's own
    `current` (what was in force when it was made) and the latest step in force since: an
    override step's bound as is, otherwise the stricter of the two."""
    exact = {} if requirements is None else {
        (r.metric, r.applies): r.bound for r in effective_requirements(db, model_id,
                                                                        requirements)}
    latest = {(s["metric"], s["applies"]): s for s in steps_in_force(db, model_id)}
    out = {}
    for p in proposals:
        key = (p.metric, p.applies)
        if key in exact:
            out[key] = exact[key]
        elif key in latest and latest[key]["override"]:
            out[key] = latest[key]["new"]
        elif key in latest:
            new = latest[key]["new"]
            out[key] = new if _stricter(p, new, p.current) else p.current
        else:
            out[key] = p.current
    return out


def rejudge(db, model_id: str, proposals: list[Proposal], requirements: bytes | None,
            mode: str, override: bool = False) -> tuple[list[Proposal], list[Dropped]]:
    """The proposals against the bounds in force now (call it inside the write transaction).
    mode "ratchet": a proposal no longer stricter than the bound in force is dropped (exactly
    what proposing again now would give: never below today's bound). mode "set": a value
    chosen by hand that would now lower the bound is refused unless `override`. Kept steps
    get the bound in force as their `current` (the `old` on the record)."""
    now = bounds_in_force(db, model_id, requirements, proposals)
    kept, dropped = [], []
    for p in proposals:
        bound = now[(p.metric, p.applies)]
        if mode == "ratchet" and not override and not _stricter(p, p.proposed, bound):
            dropped.append(Dropped(p, bound))
            continue
        if (mode == "set" and not override and _stricter(p, bound, p.proposed)
                and bound != p.current):
            raise EngineError(
                f"{p.metric}: {p.proposed:g} would lower the requirement: its {p.bound_name} "
                f"was {p.current:g} when you looked, but someone raised it to {bound:g} since "
                "(`ratchet requirements show` has the step). Nothing was changed; set a value "
                "of at least that, or lower it with --override (recorded).", "E_RATCHET_LOWER")
        kept.append(replace(p, current=bound))
    return kept, dropped


def _check_active(db, model_id: str, version: int) -> None:
    row = db.execute("SELECT version FROM active WHERE model_id = ?", (model_id,)).fetchone()
    active = None if row is None else row["version"]
    if active != version:
        now = f"{model_id}@{active}" if active is not None else "no version"
        raise EngineError(
            f"the ratchet measured {model_id}@{version}, but {now} became the active version of "
            f"{model_id} meanwhile (an activation or a rollback), so its measurement no longer "
            "speaks for the model in use. Nothing was changed; run the ratchet again.",
            "E_RATCHET_STALE")


def write_steps(db, model_id: str, proposals: list[Proposal], why: str,
                override: bool = False, *, requirements: bytes | None = None,
                mode: str = "ratchet", active_version: int | None = None,
                writer: str = "requirements") -> Written:
    """Re-judge the proposals against the bounds in force and record those that still stand,
    in one write transaction (see `rejudge`). `requirements`: the bundle's requirements.json
    the proposals were made from (for the exact bounds in force); `active_version`: the
    version measured must still be the active one (else E_RATCHET_STALE, nothing written)."""
    _check_steps(proposals, why, override)
    race_window(writer, model_id)
    with write_transaction(db):
        if active_version is not None:
            _check_active(db, model_id, active_version)
        kept, dropped = rejudge(db, model_id, proposals, requirements, mode, override)
        insert_steps(db, model_id, kept, why, override)
        faults.step("ratchet.steps-written")
    return Written(kept, dropped)


def apply_steps(db, model_id: str, proposals: list[Proposal], why: str,
                override: bool = False, requirements: bytes | None = None) -> int:
    """Record the new bounds (ratchet proposals: those no longer above the bound in force are
    dropped, see `write_steps`). Loosening a requirement is refused unless `override`.
    Returns how many steps were recorded."""
    return len(write_steps(db, model_id, proposals, why, override,
                           requirements=requirements).steps)
