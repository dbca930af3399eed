"""Exactly-once claims on watched files, in the workspace's `watched_files` table.

A file version is (folder, name, size, mtime_ns). A watcher claims it by INSERTing its row in a
BEGIN IMMEDIATE transaction (the UNIQUE key stops a second watcher, in this process or another,
from claiming it too), and settles the claim as done or failed.

A claim left 'claimed' by a process that was killed is taken over. Its owner is recorded as
(host, pid, process start token): the claim is stale when that process is gone -- the pid is
not running, or it is running but started at another time (the pid was reused, e.g. after a
reboot). That is decided at once, however long a real now-test takes; a claim-age timeout
would either retake a long-running file from a live watcher or leave a killed one's file
waiting for hours. Only where the owner cannot be checked (another host, or no start token on
this platform with the pid still in use) does age decide: older than `stale_after` seconds.

The one window left: a process killed after its now-test was recorded but before the claim
was marked done has the file now-tested again after the restart (at least once, never lost).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from engine.ground.clock import now_text
from engine.ground.database import write_transaction
from engine.ground.process_identity import HOST, owner_alive, start_token

log = logging.getLogger(__name__)

STALE_AFTER_SECONDS = 6 * 3600


@dataclass(frozen=True, slots=True)
class FileVersion:
    name: str
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class Owner:
    host: str
    pid: int
    started: str

    @classmethod
    def me(cls) -> Owner:
        return cls(HOST, os.getpid(), start_token(os.getpid()))


# The claims this process is working on right now (any of its watchers, any thread): a claim
# of this process that is not among them was left by a watcher that could not settle it.
_IN_PROGRESS: set[tuple] = set()
_IN_PROGRESS_LOCK = threading.Lock()


def _working(key: tuple, on: bool) -> None:
    with _IN_PROGRESS_LOCK:
        if on:
            _IN_PROGRESS.add(key)
        else:
            _IN_PROGRESS.discard(key)


def is_stale(row: sqlite3.Row, stale_after: float, me: Owner) -> bool:
    """Whether a 'claimed' row was left by a process that is gone (see the module's doc)."""
    if row["owner_host"] == me.host and row["owner_pid"] > 0:
        pid, started = row["owner_pid"], row["owner_started"]
        if pid == me.pid and started == me.started:
            key = (row["folder"], row["name"], row["size"], row["mtime_ns"])
            with _IN_PROGRESS_LOCK:
                return key not in _IN_PROGRESS
        alive = owner_alive(pid, started)
        if alive is not None:
            return not alive
    claimed = dt.datetime.fromisoformat(row["claimed_at"])
    return (dt.datetime.now(dt.UTC) - claimed).total_seconds() > stale_after


# -- claiming ------------------------------------------------------------------------------
_WHERE = "folder = ? AND name = ? AND size = ? AND mtime_ns = ?"


def _recorded_nowtest(conn: sqlite3.Connection, folder: str, version: FileVersion,
                      row: sqlite3.Row) -> int | None:
    """The now-test a stopped watcher already recorded for this claimed file, if any: the
    now-test and the claim's settling are two commits, and a process killed between them must
    not make the file count twice."""
    found = conn.execute(
        "SELECT id FROM nowtests WHERE input = ? AND source IN ('watch', 'app') AND at >= ? "
        "ORDER BY id LIMIT 1", (str(Path(folder) / version.name), row["claimed_at"])).fetchone()
    return None if found is None else int(found["id"])


def claim(conn: sqlite3.Connection, folder: str, version: FileVersion, me: Owner,
          stale_after: float = STALE_AFTER_SECONDS) -> str:
    """Try to claim a file version: "claimed" (it is ours to process), "done" or "failed"
    (processed before: skip it for good), or "busy" (a live watcher is on it)."""
    key = (folder, version.name, version.size, version.mtime_ns)
    try:
        with write_transaction(conn):
            row = conn.execute(f"SELECT * FROM watched_files WHERE {_WHERE}", key).fetchone()
            if row is None:
                conn.execute("INSERT INTO watched_files (folder, name, size, mtime_ns, state, "
                             "claimed_at, owner_host, owner_pid, owner_started) VALUES "
                             "(?,?,?,?, 'claimed', ?,?,?,?)",
                             (*key, now_text(), me.host, me.pid, me.started))
            elif row["state"] != "claimed":
                return row["state"]
            elif not is_stale(row, stale_after, me):
                return "busy"
            elif (recorded := _recorded_nowtest(conn, folder, version, row)) is not None:
                # killed after its now-test was committed, before settling the claim
                conn.execute(f"UPDATE watched_files SET state = 'done', finished_at = ?, "
                             f"nowtest_id = ? WHERE {_WHERE}", (now_text(), recorded, *key))
                log.info("%s: the now-test %d of the watcher that was stopped on it stands",
                         version.name, recorded)
                return "done"
            else:
                conn.execute(f"UPDATE watched_files SET claimed_at = ?, owner_host = ?, "
                             f"owner_pid = ?, owner_started = ? WHERE {_WHERE}",
                             (now_text(), me.host, me.pid, me.started, *key))
            # before the commit: another thread of this process must see it as in progress
            _working(key, True)
    except BaseException:
        _working(key, False)
        raise
    if row is not None:
        log.info("%s: taking over the claim left by process %s on %s at %s", version.name,
                 row["owner_pid"], row["owner_host"], row["claimed_at"])
    return "claimed"


def finish(conn: sqlite3.Connection, folder: str, version: FileVersion, me: Owner, state: str,
           nowtest_id: int | None = None, error: str | None = None) -> bool:
    """Settle our claim as "done" or "failed"; False if it was no longer ours."""
    try:
        with write_transaction(conn):
            changed = conn.execute(
                f"UPDATE watched_files SET state = ?, finished_at = ?, nowtest_id = ?, "
                f"error = ? WHERE {_WHERE} AND state = 'claimed' AND owner_host = ? AND "
                "owner_pid = ?",
                (state, now_text(), nowtest_id, error, folder, version.name, version.size,
                 version.mtime_ns, me.host, me.pid)).rowcount
    finally:  # only once committed: until then another thread must not take it over
        _working((folder, version.name, version.size, version.mtime_ns), False)
    if not changed:
        log.warning("%s: the claim was taken over by another watcher while this one worked on "
                    "it", version.name)
    return bool(changed)


def release(conn: sqlite3.Connection, folder: str, version: FileVersion, me: Owner) -> None:
    """Give up our claim (work cancelled): the file is picked up again later, unless its
    now-test was already recorded (stopped while e-mailing or shadowing): then it is done."""
    key = (folder, version.name, version.size, version.mtime_ns)
    try:
        with write_transaction(conn):
            row = conn.execute(f"SELECT * FROM watched_files WHERE {_WHERE} AND state = "
                               "'claimed' AND owner_host = ? AND owner_pid = ?",
                               (*key, me.host, me.pid)).fetchone()
            recorded = None if row is None else _recorded_nowtest(conn, folder, version, row)
            if recorded is not None:
                conn.execute(f"UPDATE watched_files SET state = 'done', finished_at = ?, "
                             f"nowtest_id = ? WHERE {_WHERE}", (now_text(), recorded, *key))
            elif row is not None:
                conn.execute(f"DELETE FROM watched_files WHERE {_WHERE}", key)
    finally:
        _working((folder, version.name, version.size, version.mtime_ns), False)


def history_of(conn: sqlite3.Connection, folder: str) -> list[dict]:
    """Every file version seen in `folder`, newest claim first (for the Monitor page)."""
    rows = conn.execute("SELECT * FROM watched_files WHERE folder = ? ORDER BY id DESC",
                        (folder,)).fetchall()
    return [dict(r) for r in rows]
