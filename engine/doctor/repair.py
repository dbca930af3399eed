"""`ratchet doctor --repair [BUNDLE ...]`: fix every finding that has a repair."""

from __future__ import annotations

from pathlib import Path

from engine.doctor import Finding
from engine.doctor.checks import database_findings, run_checks
from engine.doctor.rebuild import rebuild_database
from engine.errors import EngineError, InputError
from engine.ground.fileio import sweep_leftovers
from engine.ground.paths import Workspace

REBUILD = {"E_WORKSPACE_DB_MISSING", "E_WORKSPACE_DB_DAMAGED"}


def repair(ws: Workspace, bundles: list[Path]) -> list[str]:
    """Repair what can be repaired; returns a sentence for each thing done. Bundle files that
    are not bundles are refused before anything is changed."""
    given = _read_bundles(bundles)
    said = []
    findings = run_checks(ws)
    # the trust store first: rebuilding the database verifies bundles with it
    missing_trust = any(f.code == "E_TRUST_STORE_MISSING" for f in findings)
    if missing_trust and ws.install_default_trust_store():
        said.append(f"the shipped default trust store was installed at {ws.trust_store} "
                    "(it trusts only the demo publisher, for demo-* models)")
    db_findings, _ = database_findings(ws)
    if any(f.code in REBUILD for f in db_findings):
        said += rebuild_database(ws)
    from engine.registry.registry import Registry  # opens (and migrates) the database

    with Registry(ws) as registry:
        said += _repair_bundles(registry, findings, given)
        said += _repair_records(registry, findings)
    said += _repair_files(ws, findings)
    return said


def _read_bundles(bundles: list[Path]) -> list[tuple[Path, bytes, str]]:
    """Each given file as (path, bytes, "ID@V" of its manifest), or InputError."""
    from engine.bundle.manifest import MANIFEST, parse_manifest
    from engine.bundle.ziparchive import read_members
    from engine.registry.registry import read_bundle_file

    read = []
    for path in map(Path, bundles):
        data = read_bundle_file(path)
        try:
            manifest = parse_manifest(read_members(data)[MANIFEST])
        except (EngineError, KeyError) as exc:
            raise InputError(f"{path} is not a Ratchet bundle ({exc}); nothing was repaired.",
                             "E_NOT_A_BUNDLE") from exc
        read.append((path, data, f"{manifest.model_id}@{manifest.version}"))
    return read


def _repair_bundles(registry, findings: list[Finding],
                    given: list[tuple[Path, bytes, str]]) -> list[str]:
    damaged = {f.subject for f in findings if f.code in ("E_INSTALLED_MISSING",
                                                           "E_INSTALLED_TAMPERED")}
    said = []
    for path, data, label in given:
        if label not in damaged:
            said.append(f"{path} is {label}, whose installed file is intact (or which is not "
                        "installed); nothing was done with it")
            continue
        model_id, version, status = registry.import_bundle(data, activate=False)
        said.append(f"{model_id}@{version}: the installed file was put back from {path} "
                    f"after verifying it ({status})")
        damaged.discard(label)
    return said


def _repair_records(registry, findings: list[Finding]) -> list[str]:
    from engine.batch.commit import reconcile_batches
    from engine.ground.database import write_transaction
    from engine.registry.rollback_state import save_state

    said = []
    for f in findings:
        if f.code == "E_ACTIVE_NOT_INSTALLED":
            model_id = f.subject.rsplit("@", 1)[0]
            with write_transaction(registry.db):
                registry.db.execute("DELETE FROM active WHERE model_id = ?", (model_id,))
            said.append(f"{f.subject} is no longer recorded as active")
        elif f.code == "E_ROLLBACK_STATE":
            save_state(registry.ws, registry.accepted_versions())
            said.append(f"the rollback state {f.subject} was rebuilt from the installed "
                        "bundles")
    said += reconcile_batches(registry.db)
    return said


def _repair_files(ws: Workspace, findings: list[Finding]) -> list[str]:
    from engine.ground.settings import set_aside_corrupt

    said = []
    if any(f.code == "E_SETTINGS_CORRUPT" for f in findings):
        kept = set_aside_corrupt(ws.root)
        said.append(f"the unreadable settings were kept as {kept}; the defaults apply now")
    for f in findings:
        if f.code == "W_UNRECORDED_BUNDLE":
            Path(f.subject).unlink(missing_ok=True)
            said.append(f"{f.subject} (not recorded as installed) was removed")
    folders = {Path(f.subject).parent for f in findings if f.code == "W_LEFTOVER"}
    for folder in sorted(folders):
        said += [f"{p} was removed (left by a stopped run)" for p in sweep_leftovers(folder)]
    return said
