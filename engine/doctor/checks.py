"""The doctor's checks: each reads the workspace and returns its findings; none writes."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from engine.doctor import Finding
from engine.ground.fileio import leftovers
from engine.ground.paths import Workspace

BUNDLE_FIX = ("give the bundle file it was installed from: `ratchet doctor --repair "
              "BUNDLE` puts it back after verifying it")


# Findings that leave the workspace unusable until repaired (the app opens on them).
FATAL = frozenset({"E_WORKSPACE_DB_MISSING", "E_WORKSPACE_DB_DAMAGED", "E_WORKSPACE_DB_SCHEMA"})


def database_findings(ws: Workspace, quick: bool = False) -> tuple[list[Finding], bool]:
    """Findings about ratchet.db, and whether it can be read for the other checks. `quick`:
    SQLite's quick_check (what the app runs at every start) instead of the full
    integrity_check (which also checks every index against its table)."""
    path = ws.database
    size = path.stat().st_size if path.exists() else 0
    if size == 0:
        if not ws.installed_bundle_files():
            return [], False  # a new workspace: the database is made on first use
        state = "is missing" if not path.exists() else "is empty (0 bytes)"
        return [Finding("E_WORKSPACE_DB_MISSING", str(path),
                        f"the workspace database {path} {state} while the workspace holds "
                        f"{len(ws.installed_bundle_files())} installed bundle(s); restore it "
                        "from a backup if you have one.",
                        "rebuild the database's list of installed models from the bundle "
                        "files (the lost history cannot be recovered)")], False
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            check = "quick_check" if quick else "integrity_check"
            result = [r[0] for r in conn.execute(f"PRAGMA {check}").fetchall()]
            tables = {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        result, tables = [str(exc)], set()
    if result != ["ok"]:
        detail = "; ".join(result[:3]) + (" …" if len(result) > 3 else "")
        return [Finding("E_WORKSPACE_DB_DAMAGED", str(path),
                        f"the workspace database {path} is damaged ({detail}).",
                        "keep the damaged file beside a new database that gets every row "
                        "that can still be read, and the installed models rebuilt from their "
                        "bundle files")], False
    missing = sorted(_schema_tables() - tables)
    if missing:
        return [Finding("E_WORKSPACE_DB_SCHEMA", str(path),
                        f"the workspace database {path} lacks the table(s) "
                        f"{', '.join(missing)}.", "create the missing tables")], True
    return [], True


def _schema_tables() -> set[str]:
    """The tables today's schema declares, as SQLite itself reads the schema."""
    from engine.ground.database import SCHEMA

    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(SCHEMA)
        return {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
    finally:
        conn.close()


def bundle_findings(ws: Workspace, conn: sqlite3.Connection) -> list[Finding]:
    """Each installed version's file against the hash recorded when it was verified; bundle
    files that no installed version records; active versions that are not installed."""
    findings = []
    recorded = set()
    for row in conn.execute("SELECT model_id, version, bundle_sha256 FROM installed "
                            "ORDER BY model_id, version"):
        label = f"{row['model_id']}@{row['version']}"
        path = ws.bundle_path(row["model_id"], row["version"])
        recorded.add(path)
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            findings.append(Finding("E_INSTALLED_MISSING", label,
                                    f"the installed bundle of {label} ({path}) cannot be read "
                                    f"({exc.strerror}); {BUNDLE_FIX}."))
            continue
        if digest != row["bundle_sha256"]:
            findings.append(Finding("E_INSTALLED_TAMPERED", label,
                                    f"the installed bundle of {label} ({path}) was changed on "
                                    f"disk since it was verified; {BUNDLE_FIX}."))
    for path in ws.installed_bundle_files():
        if path not in recorded:
            findings.append(Finding("W_UNRECORDED_BUNDLE", str(path),
                                    f"{path} is not recorded as installed (an import was "
                                    "stopped before it finished); import the bundle again to "
                                    "install it.", "remove the unrecorded file"))
    for row in conn.execute("SELECT a.model_id, a.version FROM active a LEFT JOIN installed i "
                            "ON i.model_id = a.model_id AND i.version = a.version "
                            "WHERE i.model_id IS NULL"):
        label = f"{row['model_id']}@{row['version']}"
        findings.append(Finding("E_ACTIVE_NOT_INSTALLED", label,
                                f"{label} is recorded as active but not as installed.",
                                "deactivate it (the model's other versions stay)"))
    return findings


def trust_findings(ws: Workspace) -> list[Finding]:
    from engine.bundle.trust import load_trust_store, trust_store_path
    from engine.errors import EngineError

    path = trust_store_path(ws.root)
    missing = ws.missing_trust_store(path)
    if missing:
        return [Finding("E_TRUST_STORE_MISSING", str(path), missing,
                        "install the shipped default trust store, which trusts only the "
                        "demo publisher for demo-* models")]
    try:
        load_trust_store(path)
    except EngineError as exc:
        return [Finding(exc.code, str(path), exc.message)]
    return []


def settings_findings(ws: Workspace) -> list[Finding]:
    from engine.ground.settings import check_settings, settings_path

    return [Finding("E_SETTINGS_CORRUPT", str(settings_path(ws.root)), problem,
                    "set the unreadable file aside (kept, renamed) and start again from the "
                    "default settings") for problem in check_settings(ws.root)]


def rollback_state_findings(ws: Workspace) -> list[Finding]:
    import json

    from engine.registry.rollback_state import STATE_FORMAT

    path = ws.rollback_state
    if not path.exists():
        return []
    try:
        doc = json.loads(path.read_bytes())
        ok = doc.get("format") == STATE_FORMAT and all(
            isinstance(v["version"], int) for v in doc["models"].values())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        ok = False
    if ok:
        return []
    return [Finding("E_ROLLBACK_STATE", str(path),
                    f"the rollback state {path} is unreadable; until it is rebuilt it is "
                    "worked out again from the installed bundles each time.",
                    "rebuild it from the installed bundles")]


def leftover_findings(ws: Workspace, conn: sqlite3.Connection | None) -> list[Finding]:
    """Temporary files of stopped runs in the workspace, and batches left pending."""
    from engine.batch.commit import pending_batches

    folders = [ws.root, ws.models_dir, ws.reports_dir,
               *(p for p in ws.models_dir.glob("*") if p.is_dir())]
    try:
        pending = pending_batches(conn) if conn is not None else []
    except sqlite3.OperationalError:  # a database from before batches had a state
        pending = []
    folders += sorted({Path(row["output"]).parent for row in pending})
    findings = [Finding("W_LEFTOVER", str(path), f"{path} was left by a Ratchet run that was "
                        "stopped.", "remove it") for folder in folders
                for path in leftovers(folder)]
    findings += [Finding("W_BATCH_PENDING", f"batch {row['id']}",
                         f"batch {row['id']} ({row['output']}) was stopped while its output "
                         "was being put in place.",
                         "complete its record when its output is in place, else record it "
                         "as failed") for row in pending]
    return findings


def run_checks(ws: Workspace, quick: bool = False) -> list[Finding]:
    """Every check, in the order a person would fix things (`quick`: see database_findings)."""
    findings, readable = database_findings(ws, quick)
    conn = None
    if readable:
        conn = sqlite3.connect(f"file:{ws.database}?mode=ro", uri=True, timeout=30)
        conn.row_factory = sqlite3.Row
    try:
        if conn is not None and not any(f.code == "E_WORKSPACE_DB_SCHEMA" for f in findings):
            findings += bundle_findings(ws, conn)
        findings += trust_findings(ws)
        findings += settings_findings(ws)
        findings += rollback_state_findings(ws)
        findings += leftover_findings(ws, conn)
    finally:
        if conn is not None:
            conn.close()
    return findings
