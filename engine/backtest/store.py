"""Back-test runs in the workspace history (the `backtests` table)."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from engine.backtest.result import BacktestResult
from engine.ground.clock import current_user, now_text


def report_path(workspace, champion: str) -> Path:
    """Where a run's own report goes when no other file is asked for: the workspace's reports
    folder, named by time and champion (the same for `ratchet backtest` and the app)."""
    stamp = re.sub(r"[^0-9T]", "", now_text())[:15]
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"backtest-{stamp}-{champion}")
    return workspace.reports_dir / f"{name}.html"


def report_title(result: BacktestResult) -> str:
    return f"Back-test of {result.champion} on {Path(result.corpus).name}, by {result.by}"


def record_backtest(conn: sqlite3.Connection, result: BacktestResult, corpus: str,
                    time_column: str, by: str, report: str | None) -> int:
    """Store a finished back-test; returns its id."""
    with conn:
        cur = conn.execute(
            "INSERT INTO backtests (corpus, time_column, by, champion, challengers, passed, "
            "result_json, report, at, user) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (str(corpus), time_column, by, result.champion, json.dumps(result.challengers),
             int(result.passed), json.dumps(result.to_json()), report, now_text(),
             current_user()))
    return int(cur.lastrowid)


def _row(r: sqlite3.Row) -> dict:
    doc = json.loads(r["result_json"])
    return {"id": r["id"], "corpus": r["corpus"], "time_column": r["time_column"],
            "by": r["by"], "champion": r["champion"],
            "challengers": json.loads(r["challengers"]), "passed": bool(r["passed"]),
            "verdict": doc.get("verdict", {}), "report": r["report"], "at": r["at"],
            "user": r["user"], "result": doc}


def list_backtests(conn: sqlite3.Connection, limit: int = 50) -> list[dict]:
    """The latest runs first; "result" holds the stored JSON (BacktestResult.from_json reads
    it back)."""
    rows = conn.execute("SELECT * FROM backtests ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [_row(r) for r in rows]


def get_backtest(conn: sqlite3.Connection, backtest_id: int) -> dict | None:
    row = conn.execute("SELECT * FROM backtests WHERE id = ?", (backtest_id,)).fetchone()
    return None if row is None else _row(row)
