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
