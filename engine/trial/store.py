"""Gate runs, trials and their shadow observations in the workspace history (the tables
gate_runs, trials and trial_shadow of engine.ground.database)."""

from __future__ import annotations

import json
import sqlite3

from engine.errors import EngineError
from engine.ground.clock import current_user, now_text
from engine.ground.database import RUNNING, write_transaction


def record_gate(conn: sqlite3.Connection, result) -> int:
    """Store a finished gate run (a GateResult); returns its id."""
    with write_transaction(conn):
        cur = conn.execute(
            "INSERT INTO gate_runs (candidate, champion, bundle_sha256, corpus, time_column, by, "
            "latest, verdict, result_json, report, at, user) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (result.candidate, result.champion, result.bundle_sha256, result.corpus,
             result.time_column, result.by, result.latest, result.verdict,
             json.dumps(result.to_json()), result.report, result.at, current_user()))
    return int(cur.lastrowid)


def get_gate(conn: sqlite3.Connection, gate_id: int) -> dict | None:
    """The stored GateResult document (GateResult.from_json reads it back), with its id."""
    row = conn.execute("SELECT * FROM gate_runs WHERE id = ?", (gate_id,)).fetchone()
    return None if row is None else {**json.loads(row["result_json"]), "id": row["id"]}


def list_gates(conn: sqlite3.Connection, limit: int = 50) -> list[dict]:
    """The latest gate runs first, without their evidence (get_gate has it)."""
    rows = conn.execute("SELECT id, candidate, champion, verdict, corpus, latest, report, at, "
                        "user FROM gate_runs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [dict(r) for r in rows]


def insert_trial(conn: sqlite3.Connection, model_id: str, champion: str, challenger: str,
                 bundle_sha256: str, gate_id: int, batches: int | None,
                 days: float | None, check_champion: bool = False) -> int:
    """A running trial; the unique index trials_one_running refuses a second one per model.
    `check_champion`: the champion the gate judged must still be the active version, checked
    in the same transaction (gating takes minutes; an activation or a rollback meanwhile
    makes the gate's verdict about another model: E_TRIAL_STALE, no trial started)."""
    with write_transaction(conn):
        if check_champion:
            row = conn.execute("SELECT version FROM active WHERE model_id = ?",
                               (model_id,)).fetchone()
            active = None if row is None else f"{model_id}@{row['version']}"
            if active != champion:
                raise EngineError(
                    f"the gate judged {challenger} against {champion}, but the active version "
                    f"of {model_id} is now {active or 'none'} (it changed while the gate ran); "
                    "no trial was started. Run `ratchet trial start` again.", "E_TRIAL_STALE")
        cur = conn.execute(
            "INSERT INTO trials (model_id, champion, challenger, bundle_sha256, gate_id, "
            "batches, days, status, started_at, started_by) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (model_id, champion, challenger, bundle_sha256, gate_id, batches, days, RUNNING,
             now_text(), current_user()))
    return int(cur.lastrowid)


def running_trial(conn: sqlite3.Connection, model_id: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM trials WHERE model_id = ? AND status = ?",
                        (model_id, RUNNING)).fetchone()


def get_trial(conn: sqlite3.Connection, trial_id: int) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM trials WHERE id = ?", (trial_id,)).fetchone()


def list_trials(conn: sqlite3.Connection, model_id: str | None = None,
                limit: int = 50) -> list[dict]:
    """The latest trials first (every status)."""
    sql, args = "SELECT * FROM trials", []
    if model_id is not None:
        sql += " WHERE model_id = ?"
        args.append(model_id)
    rows = conn.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
    return [dict(r) for r in rows]


def close_trial(conn: sqlite3.Connection, trial_id: int, status: str, reason: str,
                forced: bool = False, champion_requirements: list[dict] | None = None) -> None:
    """Close a running trial (inside the caller's transaction)."""
    cur = conn.execute(
        "UPDATE trials SET status = ?, closed_at = ?, closed_by = ?, reason = ?, forced = ?, "
        "champion_requirements = ? WHERE id = ? AND status = ?",
        (status, now_text(), current_user(), reason, int(forced),
         None if champion_requirements is None else json.dumps(champion_requirements),
         trial_id, RUNNING))
    if cur.rowcount != 1:
        raise EngineError(f"trial {trial_id} is no longer running (another user or process "
                          "closed it); `ratchet trial status` shows it.", "E_TRIAL_CLOSED")


def insert_shadow(conn: sqlite3.Connection, trial_id: int, kind: str, source_id: int | None,
                  input_path: str, champion: str, challenger: str, rows: int | None = None,
                  output: str | None = None, comparison: dict | None = None,
                  result: dict | None = None, error: str | None = None) -> int:
    """One shadow observation: the challenger beside the champion on a batch or a now-test
    (`error` when the shadow run failed; the operator's work is unaffected either way)."""
    with write_transaction(conn):
        cur = conn.execute(
            "INSERT INTO trial_shadow (trial_id, kind, source_id, input, champion, challenger, "
            "rows, output, comparison_json, result_json, error, at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (trial_id, kind, source_id, input_path, champion, challenger, rows, output,
             None if comparison is None else json.dumps(comparison, allow_nan=False),
             None if result is None else json.dumps(result, allow_nan=False), error,
             now_text()))
    return int(cur.lastrowid)


def shadow_rows(conn: sqlite3.Connection, trial_id: int) -> list[dict]:
    """A trial's observations, oldest first, with their documents parsed."""
    out = []
    for r in conn.execute("SELECT * FROM trial_shadow WHERE trial_id = ? ORDER BY id",
                          (trial_id,)).fetchall():
        doc = dict(r)
        doc["comparison"] = json.loads(doc.pop("comparison_json") or "null")
        doc["result"] = json.loads(doc.pop("result_json") or "null")
        out.append(doc)
    return out
