"""Now-test results in the workspace history (the `nowtests` table), newest first for the
Monitor page and `ratchet alarms`/`nowtest` output."""

from __future__ import annotations

import json
import sqlite3

from engine.ground.clock import current_user, now_text
from engine.ground.database import write_transaction
from engine.nowtest.result import NowtestResult

SOURCES = ("cli", "watch", "app")


def insert_nowtest(conn: sqlite3.Connection, result: NowtestResult, source: str) -> int:
    """The INSERT alone, for callers that hold a transaction (see engine.monitoring)."""
    if source not in SOURCES:
        raise ValueError(f"now-test source must be one of {SOURCES}, not {source!r}")
    cur = conn.execute(
        "INSERT INTO nowtests (model, input, input_sha256, rows, labelled, alarm, result_json, "
        "source, at, user) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (result.model, result.input, result.input_sha256, result.rows, result.labelled,
         int(result.alarm), json.dumps(result.to_json(), allow_nan=False), source, now_text(),
         current_user()))
    return int(cur.lastrowid)


def record_nowtest(conn: sqlite3.Connection, result: NowtestResult, source: str) -> int:
    """Store a now-test result; `source` is "cli", "watch" or "app". Returns its id."""
    with write_transaction(conn):
        return insert_nowtest(conn, result, source)


def list_nowtests(conn: sqlite3.Connection, model: str | None = None,
                  limit: int = 200) -> list[dict]:
    """Newest first. `model` is a label "ID@V" or a model id "ID" (all its versions)."""
    sql = "SELECT * FROM nowtests"
    args: list = []
    if model is not None:
        if "@" in model:
            sql += " WHERE model = ?"
            args.append(model)
        else:
            sql += " WHERE substr(model, 1, ?) = ?"
            args += [len(model) + 1, model + "@"]
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(int(limit))
    return [{"id": r["id"], "model": r["model"], "input": r["input"],
             "input_sha256": r["input_sha256"], "rows": r["rows"], "labelled": r["labelled"],
             "alarm": bool(r["alarm"]), "at": r["at"], "user": r["user"],
             "source": r["source"], "result": json.loads(r["result_json"])}
            for r in conn.execute(sql, args).fetchall()]
