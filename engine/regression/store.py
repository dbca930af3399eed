"""Regression runs in the workspace history."""

from __future__ import annotations

import json
import sqlite3

from engine.ground.clock import current_user, now_text


def record_regression_run(conn: sqlite3.Connection, result) -> int:
    """Store a regression run (an engine.regression.suite.SuiteResult)."""
    doc = result.to_json()
    with conn:
        cur = conn.execute(
            "INSERT INTO regression_runs (model, passed, cases, cases_failed, result_json, at, "
            "user) VALUES (?,?,?,?,?,?,?)",
            (result.model, int(result.passed), doc["cases"]["total"], doc["cases"]["failed"],
             json.dumps(doc), now_text(), current_user()))
    return int(cur.lastrowid)


def list_regression_runs(conn: sqlite3.Connection, model_id: str | None = None,
                         limit: int = 200) -> list[sqlite3.Row]:
    """The runs of a model id (every model's when None), newest first."""
    sql = "SELECT * FROM regression_runs"
    args: tuple = ()
    if model_id:
        sql += " WHERE model LIKE ?"
        args = (f"{model_id}@%",)
    return conn.execute(f"{sql} ORDER BY id DESC LIMIT ?", (*args, int(limit))).fetchall()


def last_regression_run(conn: sqlite3.Connection, label: str) -> tuple[int, dict] | None:
    """The newest run of this very version ("ID@V"): (its id, its stored result)."""
    row = conn.execute("SELECT id, result_json FROM regression_runs WHERE model = ? "
                       "ORDER BY id DESC LIMIT 1", (label,)).fetchone()
    return None if row is None else (row["id"], json.loads(row["result_json"]))
