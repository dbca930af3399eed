"""A new workspace database in place of a damaged or lost one, losing no history that can be
read: the damaged file is kept (renamed), every row that can still be read is copied over, and
installed models missing from it are rebuilt from their bundle files (verified again)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
from pathlib import Path

from engine.errors import EngineError
from engine.ground.database import connect, write_transaction
from engine.ground.paths import Workspace

log = logging.getLogger(__name__)


def set_database_aside(ws: Workspace) -> Path | None:
    """Rename a non-empty database (with its WAL files) to ratchet.db.damaged-STAMP and return
    the new name; remove an empty one. Nothing is ever deleted that holds a byte of history."""
    path = ws.database
    if path.exists() and path.stat().st_size > 0:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        kept = path.with_name(f"{path.name}.damaged-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            source = path.with_name(path.name + suffix)
            if source.exists():
                os.replace(source, kept.with_name(kept.name + suffix))
        return kept
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    return None


def copy_rows(old: Path, new: sqlite3.Connection) -> list[str]:
    """Copy every readable row of every table of `old` into `new` (the same schema, perhaps
    fewer columns); returns a sentence per table saying what was copied or lost."""
    said = []
    try:
        src = sqlite3.connect(f"file:{old}?mode=ro", uri=True)
        tables = [r[0] for r in src.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    except sqlite3.DatabaseError as exc:
        return [f"no table of {old.name} could be read ({exc})"]
    try:
        for table in tables:
            said.append(_copy_table(src, new, table))
    finally:
        src.close()
    return [s for s in said if s]


def _copy_table(src: sqlite3.Connection, new: sqlite3.Connection, table: str) -> str:
    have = {r[1] for r in new.execute(f"PRAGMA table_info({table})")}
    if not have:
        return f"table {table}: not part of today's schema, left in the kept file"
    rows, error = [], None
    try:
        columns = [r[1] for r in src.execute(f"PRAGMA table_info({table})") if r[1] in have]
        for row in src.execute(f"SELECT {', '.join(columns)} FROM {table}"):
            rows.append(tuple(row))  # every row read before the damage is kept
    except sqlite3.DatabaseError as exc:
        error = exc
    if rows:
        names, marks = ", ".join(columns), ", ".join("?" * len(columns))
        with write_transaction(new):
            new.executemany(f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({marks})", rows)
    copied = len(rows)
    if error is None:
        return f"table {table}: {copied} row(s) copied" if copied else ""
    return f"table {table}: {copied} row(s) copied, the rest unreadable ({error})"


def rebuild_installed(ws: Workspace) -> list[str]:
    """Record the bundle files in models/ that the database does not know (verifying each
    again), then activate the highest version of each model that has no active one."""
    from engine.registry.registry import Registry, read_bundle_file

    said = []
    with Registry(ws) as registry:
        known = {(v.model_id, v.version) for v in registry.versions()}
        for path in ws.installed_bundle_files():
            if any(path == ws.bundle_path(m, v) for m, v in known):
                continue
            try:
                model_id, version, _ = registry.import_bundle(read_bundle_file(path),
                                                              activate=False)
            except EngineError as exc:
                said.append(f"{path} was not recorded: it no longer verifies ({exc.message})")
                continue
            said.append(f"{model_id}@{version} recorded as installed again from {path.name}")
        for model_id in sorted({v.model_id for v in registry.versions()}):
            if registry.active_version(model_id) is None:
                version = max(v.version for v in registry.versions(model_id))
                registry.activate(model_id, version, action="rebuild")
                said.append(f"{model_id}@{version} activated (the highest installed version; "
                            "which one was active before was lost with the database)")
    return said


def rebuild_database(ws: Workspace) -> list[str]:
    kept = set_database_aside(ws)
    conn = connect(ws.database)
    try:
        said = [f"the damaged database was kept as {kept}"] if kept else []
        if kept is not None:
            said += copy_rows(kept, conn)
    finally:
        conn.close()
    said.append(f"a new workspace database was made at {ws.database}")
    return said + rebuild_installed(ws)
