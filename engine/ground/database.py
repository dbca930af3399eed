"""The workspace database: its schema, migrations, connections and transactions.

WAL mode and short transactions, so the app, its watcher thread and a command-line run can
write at the same time without losing a record; a process killed mid-transaction leaves the
database as it was before the transaction.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS installed (
    model_id TEXT NOT NULL, version INTEGER NOT NULL, bundle_sha256 TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL, signers TEXT NOT NULL, created TEXT NOT NULL,
    expires TEXT NOT NULL, installed_at TEXT NOT NULL, path TEXT NOT NULL,
    PRIMARY KEY (model_id, version));
CREATE TABLE IF NOT EXISTS active (
    model_id TEXT PRIMARY KEY, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS activations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model_id TEXT NOT NULL, version INTEGER NOT NULL,
    previous_version INTEGER, action TEXT NOT NULL, user TEXT NOT NULL, at TEXT NOT NULL,
    bundle_sha256 TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL, bundle_sha256 TEXT NOT NULL,
    input TEXT NOT NULL, input_sha256 TEXT NOT NULL, output TEXT NOT NULL,
    rows INTEGER NOT NULL, ok INTEGER NOT NULL, rejected INTEGER NOT NULL,
    started TEXT NOT NULL, finished TEXT NOT NULL, user TEXT NOT NULL,
    app_version TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'done',
    output_sha256 TEXT NOT NULL DEFAULT '', owner TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS regression_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL, passed INTEGER NOT NULL,
    cases INTEGER NOT NULL, cases_failed INTEGER NOT NULL, result_json TEXT NOT NULL,
    at TEXT NOT NULL, user TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pinned_cases (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model_id TEXT NOT NULL, inputs TEXT NOT NULL,
    expected TEXT NOT NULL, probabilities TEXT NOT NULL, note TEXT NOT NULL,
    source TEXT NOT NULL, pinned_at TEXT NOT NULL, user TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requirement_steps (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model_id TEXT NOT NULL, metric TEXT NOT NULL,
    applies TEXT NOT NULL, bound_name TEXT NOT NULL, old REAL NOT NULL, new REAL NOT NULL,
    why TEXT NOT NULL, override INTEGER NOT NULL, user TEXT NOT NULL, at TEXT NOT NULL,
    trial_id INTEGER);
CREATE TABLE IF NOT EXISTS backtests (
    id INTEGER PRIMARY KEY AUTOINCREMENT, corpus TEXT NOT NULL, time_column TEXT NOT NULL,
    by TEXT NOT NULL, champion TEXT NOT NULL, challengers TEXT NOT NULL,
    passed INTEGER NOT NULL, result_json TEXT NOT NULL, report TEXT,
    at TEXT NOT NULL, user TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nowtests (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL, input TEXT NOT NULL,
    input_sha256 TEXT NOT NULL, rows INTEGER NOT NULL, labelled INTEGER NOT NULL,
    alarm INTEGER NOT NULL, result_json TEXT NOT NULL, source TEXT NOT NULL,
    at TEXT NOT NULL, user TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alarms (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL, kind TEXT NOT NULL,
    subject TEXT NOT NULL, value REAL, bound REAL, message TEXT NOT NULL,
    first_nowtest INTEGER, last_nowtest INTEGER, occurrences INTEGER NOT NULL,
    first_at TEXT NOT NULL, last_at TEXT NOT NULL, acknowledged_at TEXT, acknowledged_by TEXT,
    emailed_at TEXT, email_error TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS alarms_one_open
    ON alarms (model, kind, subject) WHERE acknowledged_at IS NULL;
CREATE TABLE IF NOT EXISTS watched_files (
    id INTEGER PRIMARY KEY AUTOINCREMENT, folder TEXT NOT NULL, name TEXT NOT NULL,
    size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, state TEXT NOT NULL,
    claimed_at TEXT NOT NULL, finished_at TEXT, nowtest_id INTEGER, error TEXT,
    owner_host TEXT NOT NULL DEFAULT '', owner_pid INTEGER NOT NULL DEFAULT 0,
    owner_started TEXT NOT NULL DEFAULT '',
    UNIQUE (folder, name, size, mtime_ns));
CREATE TABLE IF NOT EXISTS gate_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, candidate TEXT NOT NULL, champion TEXT NOT NULL,
    bundle_sha256 TEXT NOT NULL, corpus TEXT NOT NULL, time_column TEXT NOT NULL,
    by TEXT NOT NULL, latest TEXT, verdict TEXT NOT NULL, result_json TEXT NOT NULL,
    report TEXT, at TEXT NOT NULL, user TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model_id TEXT NOT NULL, champion TEXT NOT NULL,
    challenger TEXT NOT NULL, bundle_sha256 TEXT NOT NULL, gate_id INTEGER NOT NULL,
    batches INTEGER, days REAL, status TEXT NOT NULL, started_at TEXT NOT NULL,
    started_by TEXT NOT NULL, closed_at TEXT, closed_by TEXT, reason TEXT,
    forced INTEGER NOT NULL DEFAULT 0, champion_requirements TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS trials_one_running ON trials (model_id)
    WHERE status = 'running';
CREATE TABLE IF NOT EXISTS expired_uses (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL, expires TEXT NOT NULL,
    at TEXT NOT NULL, user TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trial_shadow (
    id INTEGER PRIMARY KEY AUTOINCREMENT, trial_id INTEGER NOT NULL, kind TEXT NOT NULL,
    source_id INTEGER, input TEXT NOT NULL, champion TEXT NOT NULL, challenger TEXT NOT NULL,
    rows INTEGER, output TEXT, comparison_json TEXT, result_json TEXT, error TEXT,
    at TEXT NOT NULL);
"""

# The states of a trial (trials.status): the schema's own vocabulary, which the ratchet reads too
# (the steps of a rolled-back trial no longer count).
RUNNING, ACCEPTED, REJECTED, ROLLED_BACK = "running", "accepted", "rejected", "rolled-back"

# Columns added after a table first shipped (and declared in SCHEMA above for new databases):
# (table, column, declaration). A database made by an older version gets them when next opened.
ADDED_COLUMNS = (
    ("requirement_steps", "trial_id", "INTEGER"),  # the trial whose acceptance took the step
    # a batch is 'pending' from just before its output is renamed into place until its
    # provenance is too ('done'); 'failed' when its process died before the output appeared
    ("batches", "state", "TEXT NOT NULL DEFAULT 'done'"),
    ("batches", "output_sha256", "TEXT NOT NULL DEFAULT ''"),
    ("batches", "owner", "TEXT NOT NULL DEFAULT ''"),  # host pid start of the writing process
    # the version a pinned outlier was pinned under (NULL: pinned before versions were kept)
    ("pinned_cases", "version", "INTEGER"),
    ("pinned_cases", "tolerance", "TEXT NOT NULL DEFAULT '1e-09'"),  # of its value(s)
)


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.row_factory = sqlite3.Row
    _use_wal(conn)
    conn.execute("PRAGMA synchronous=FULL")
    conn.executescript(SCHEMA)
    _add_columns(conn)
    return conn


def _use_wal(conn: sqlite3.Connection, attempts: int = 200) -> None:
    """Switch a new database to WAL once. Asking again on every connection is not free: the
    switch wants an exclusive lock, which the busy timeout does not always wait for, so two
    processes opening a fresh workspace at once could see "database is locked"; retry then."""
    for attempt in range(attempts):
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


def _add_columns(conn: sqlite3.Connection) -> None:
    for table, column, declaration in ADDED_COLUMNS:
        have = {r["name"] for r in conn.execute(f"PRAGMA table_info({table})")}
        if column in have:
            continue
        try:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
        except sqlite3.OperationalError as exc:  # another process added it first
            if "duplicate column" not in str(exc):
                raise


@contextlib.contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, ROLLBACK on any exception. IMMEDIATE takes the database's
    write lock before the first read, so a read-then-write (is this alarm open? is this file
    claimed?) cannot interleave with another process doing the same (the connection's busy
    timeout makes the second one wait)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
