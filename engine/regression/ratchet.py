"""The ratchet: requirements only ever rise, unless someone overrides, on the record.

The bundle's requirements.json is the starting point; every step a workstation takes (who, when,
why, old and new bound) is stored in the workspace, and the effective requirement of a metric is
the stricter of the bundle's bound and the latest step in force (an override step's bound as is).
A requirement that only this workstation's steps name stays in force whatever a later bundle
omits. Steps of a trial whose acceptance was rolled back are no longer in force (they and the
rollback's record of undoing them stay in the history). Ratchet proposes new bounds from
measured performance, never below today's; applying them is an explicit action, and lowering one
needs `override=True`, which is recorded too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from engine.bundle.canonical import parse_strict
from engine.errors import EngineError
from engine.metrics import METRICS
from engine.registry.history import current_user, now_text
from engine.regression.requirements import Requirement, parse_requirements
from engine.trial.store import ROLLED_BACK

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


def apply_steps(db, model_id: str, proposals: list[Proposal], why: str,
                override: bool = False) -> int:
    """Record the new bounds. Loosening a requirement is refused unless `override`."""
    _check_steps(proposals, why, override)
    with db:
        return insert_steps(db, model_id, proposals, why, override)
