"""Undoing a trial's acceptance on the record. When a rollback leaves a version that became
active by accepting a trial, for the champion that trial replaced, the trial is marked rolled
back in the rollback's own transaction: from then on the requirement steps its acceptance took
are no longer in force (engine.regression.ratchet.steps_in_force), so the previous champion
comes back with its own requirements, its bundle's bounds with the steps taken before the
trial. Each undone step also gets a step back to the bound the champion had (why: the
rollback, with the trial's id), so the history shows both; those records are not in force
either, so they never hold a later bundle below its own stricter bounds.

Everything it judges by (the accepted trial, the steps in force) it reads inside the rollback's
own write transaction, so no ratchet or trial can slip a step in between (the ratchet, for its
part, refuses to write a step measured on the version the rollback left: E_RATCHET_STALE)."""

from __future__ import annotations

import json

from engine.ground.database import ACCEPTED, ROLLED_BACK
from engine.regression.ratchet import Proposal, insert_steps, steps_in_force


def restore_requirements(db, model_id: str, from_version: int, to_version: int
                         ) -> list[Proposal]:
    """Called by Registry.rollback inside its write transaction (BEGIN IMMEDIATE: it must
    be, so what it reads is what is in force when it writes); returns the undo steps."""
    trial = db.execute(
        "SELECT * FROM trials WHERE model_id = ? AND status = ? AND challenger = ? AND "
        "champion = ? ORDER BY id DESC LIMIT 1",
        (model_id, ACCEPTED, f"{model_id}@{from_version}", f"{model_id}@{to_version}")
    ).fetchone()
    if trial is None:
        return []
    before = {(r["metric"], r["applies"]): r["bound"]
              for r in json.loads(trial["champion_requirements"] or "[]")}
    latest = {(s["metric"], s["applies"]): s for s in steps_in_force(db, model_id)}
    undo = []
    for s in latest.values():
        if s.get("trial_id") != trial["id"]:
            continue  # a step taken since the acceptance stays in force: nothing to record
        key = (s["metric"], s["applies"])
        target = before.get(key, s["old"])
        if s["new"] != target:
            undo.append(Proposal(s["metric"], s["bound_name"], s["new"], target,
                                 float("nan"), s["applies"]))
    insert_steps(db, model_id, undo,
                 f"rollback from {trial['challenger']} to {trial['champion']}: undoes the "
                 f"requirement steps taken when trial {trial['id']} was accepted (no longer "
                 "in force)", override=True, trial_id=trial["id"])
    db.execute("UPDATE trials SET status = ? WHERE id = ?", (ROLLED_BACK, trial["id"]))
    return undo
