"""Undoing a trial's acceptance on the record. When a rollback leaves a version that became
active by accepting a trial, for the champion that trial replaced, every requirement step the
acceptance took gets an override step back to the bound the champion had before (why: the
rollback), in the rollback's own transaction; the trial is marked rolled back. The previous
champion thus comes back with its own requirements, and the history shows both steps."""

from __future__ import annotations

import json

from engine.regression.ratchet import Proposal, insert_steps, steps
from engine.trial.store import ACCEPTED, ROLLED_BACK


def restore_requirements(db, model_id: str, from_version: int, to_version: int
                         ) -> list[Proposal]:
    """Called by Registry.rollback inside its transaction; returns the steps written."""
    trial = db.execute(
        "SELECT * FROM trials WHERE model_id = ? AND status = ? AND challenger = ? AND "
        "champion = ? ORDER BY id DESC LIMIT 1",
        (model_id, ACCEPTED, f"{model_id}@{from_version}", f"{model_id}@{to_version}")
    ).fetchone()
    if trial is None:
        return []
    before = {(r["metric"], r["applies"]): r["bound"]
              for r in json.loads(trial["champion_requirements"] or "[]")}
    history = steps(db, model_id)
    current = {(s["metric"], s["applies"]): s["new"] for s in history}
    taken = {(s["metric"], s["applies"]): s for s in history
             if s.get("trial_id") == trial["id"] and not s["override"]}
    undo = []
    for key, s in taken.items():
        target = before.get(key, s["old"])
        if current[key] != target:
            undo.append(Proposal(s["metric"], s["bound_name"], current[key], target,
                                 float("nan"), s["applies"]))
    insert_steps(db, model_id, undo,
                 f"rollback from {trial['challenger']} to {trial['champion']}: undoes the "
                 f"requirement steps taken when trial {trial['id']} was accepted",
                 override=True, trial_id=trial["id"])
    db.execute("UPDATE trials SET status = ? WHERE id = ?", (ROLLED_BACK, trial["id"]))
    return undo
