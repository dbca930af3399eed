"""The model registry: import (verify, install, activate), activate, roll back, list, load.

Installing writes exactly the verified bytes (temp file + rename), then raises the rollback
state, then records the version and the activation in one SQLite transaction. A crash between
the steps leaves either nothing visible or an installed file that a re-import completes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.bundle.manifest import format_time
from engine.bundle.ziparchive import LIMITS, read_members
from engine.errors import BundleRejected, EngineError, InputError
from engine.ground import faults
from engine.ground.clock import current_user, now_text
from engine.ground.database import connect, write_transaction
from engine.ground.environment import environment_problem
from engine.ground.fileio import write_atomic
from engine.ground.paths import Workspace
from engine.model import Model, load_coefficients
from engine.registry.refs import parse_ref
from engine.registry.rollback_state import load_state, save_state

if TYPE_CHECKING:  # verifying a bundle (cryptography) is imported by the commands that do it
    from engine.bundle.verify import Accepted, VerifiedBundle

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InstalledVersion:
    model_id: str
    version: int
    active: bool
    bundle_sha256: str
    signers: tuple[str, ...]
    created: str
    expires: str
    installed_at: str

    def to_json(self) -> dict:
        return {"model_id": self.model_id, "version": self.version, "active": self.active,
                "bundle_sha256": self.bundle_sha256, "signers": list(self.signers),
                "created": self.created, "expires": self.expires,
                "installed_at": self.installed_at}


def read_bundle_file(path: Path) -> bytes:
    if not path.is_file():
        raise InputError(f"the bundle {path} does not exist or is not a file.")
    size = path.stat().st_size
    if size > LIMITS.max_file_size:
        raise BundleRejected("damaged", "E_BUNDLE_TOO_LARGE",
                             f"{path} has {size} bytes, over the {LIMITS.max_file_size} limit.")
    return path.read_bytes()


class Registry:
    def __init__(self, workspace: Workspace):
        self.ws = workspace
        check_database_present(workspace)
        try:
            self.db = connect(workspace.database)
        except sqlite3.Error as exc:
            problem = environment_problem(exc, database=workspace.database)
            if problem is None:
                raise
            raise problem from exc

    @classmethod
    def open(cls, root: Path | str | None = None) -> Registry:
        """The registry of the workspace at `root` (None: the default workspace)."""
        return cls(Workspace.open(root))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- queries ---------------------------------------------------------------------------
    def versions(self, model_id: str | None = None) -> list[InstalledVersion]:
        sql = ("SELECT i.*, a.version IS NOT NULL AS is_active FROM installed i LEFT JOIN "
               "active a ON a.model_id = i.model_id AND a.version = i.version")
        args: tuple = ()
        if model_id is not None:
            sql += " WHERE i.model_id = ?"
            args = (model_id,)
        rows = self.db.execute(sql + " ORDER BY i.model_id, i.version", args).fetchall()
        return [InstalledVersion(r["model_id"], r["version"], bool(r["is_active"]),
                                 r["bundle_sha256"], tuple(filter(None, r["signers"].split(","))),
                                 r["created"], r["expires"], r["installed_at"]) for r in rows]

    def active_version(self, model_id: str) -> int | None:
        row = self.db.execute("SELECT version FROM active WHERE model_id = ?",
                              (model_id,)).fetchone()
        return None if row is None else row["version"]

    def activations(self, model_id: str) -> list[dict]:
        rows = self.db.execute("SELECT * FROM activations WHERE model_id = ? ORDER BY id",
                               (model_id,)).fetchall()
        return [dict(r) for r in rows]

    def resolve(self, ref: str | None) -> tuple[str, int]:
        """A model reference ("ID", "ID@V" or None for the only/most recent active model;
        for a file, engine.registry.choice.resolve_for_columns picks by its header). A
        deactivated model named without a version is refused, saying so."""
        if ref is None:
            rows = self.db.execute("SELECT a.model_id, a.version FROM active a JOIN activations "
                                   "h ON h.model_id = a.model_id GROUP BY a.model_id "
                                   "ORDER BY MAX(h.id) DESC").fetchall()
            if not rows:
                raise InputError("no model is active; import a bundle with `ratchet models "
                                 "import BUNDLE`.", "E_NO_ACTIVE_MODEL")
            return rows[0]["model_id"], rows[0]["version"]
        model_id, version = parse_ref(ref)
        if version is None:
            version = self.active_version(model_id)
            if version is None:
                from engine.registry.choice import deactivated_refusal

                refusal = deactivated_refusal(self, model_id)
                if refusal is not None:
                    raise refusal
                raise InputError(f"the model {model_id!r} is not installed or has no active "
                                 "version; `ratchet models list` shows what is.",
                                 "E_MODEL_UNKNOWN")
        if not any(v.version == version for v in self.versions(model_id)):
            raise InputError(f"{model_id}@{version} is not installed; `ratchet models list` "
                             "shows what is.", "E_MODEL_UNKNOWN")
        return model_id, version

    def bundle_sha256(self, label: str) -> str:
        model_id, version = parse_ref(label)
        row = self.db.execute("SELECT bundle_sha256 FROM installed WHERE model_id=? AND "
                              "version=?", (model_id, version)).fetchone()
        return "" if row is None else row["bundle_sha256"]

    def bundle_members(self, label: str) -> dict[str, bytes]:
        """The members of an installed (already verified) bundle, checked against its hash."""
        model_id, version = parse_ref(label)
        path = self.ws.bundle_path(model_id, version)
        fix = ("Repair it from the bundle file you installed it from: `ratchet doctor "
               "--repair BUNDLE` (or `ratchet models import BUNDLE`).")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise EngineError(f"the installed bundle of {label} ({path}) cannot be read "
                              f"({exc.strerror}). {fix}", "E_INSTALLED_MISSING") from exc
        if hashlib.sha256(data).hexdigest() != self.bundle_sha256(label):
            raise EngineError(f"the installed bundle of {label} ({path}) was changed on disk "
                              f"since it was verified. {fix}", "E_INSTALLED_TAMPERED")
        return read_members(data)

    def load_model(self, ref: str | None = None,
                   now: dt.datetime | None = None) -> tuple[Model, str]:
        """The installed coefficients of a model (the active version unless one is named), as
        (model, label) with the use's expiry check as `.expiry` (engine.registry.expiry: a
        warning from 30 days before the bundle's expiry, E_MODEL_EXPIRED after it unless the
        setting models.allow_expired is true). `now` defaults to expiry.now()."""
        from engine.registry import expiry

        model_id, version = self.resolve(ref)
        label = f"{model_id}@{version}"
        row = self.db.execute("SELECT expires FROM installed WHERE model_id=? AND version=?",
                              (model_id, version)).fetchone()
        checked = expiry.check_use(label, row["expires"], self.ws.root, now)
        model = load_coefficients(self.bundle_members(label)["coefficients.json"])
        if checked is not None and checked.allowed_expired:  # on the record, every time
            with write_transaction(self.db):
                self.db.execute("INSERT INTO expired_uses (model, expires, at, user) "
                                "VALUES (?,?,?,?)", (label, row["expires"], now_text(),
                                                     current_user()))
        return expiry.LoadedModel(model, label, checked)

    # -- changes -----------------------------------------------------------------------------
    def _accepted(self) -> dict[str, Accepted]:
        """The rollback state merged with the installed versions: the higher wins, so a lost,
        stale or deleted state file can never let an older version back in."""
        from engine.bundle.verify import Accepted

        state = load_state(self.ws)
        for row in self.db.execute("SELECT model_id, version, manifest_sha256 FROM installed"):
            known = state.get(row["model_id"])
            if known is None or row["version"] > known.version:
                state[row["model_id"]] = Accepted(row["version"], row["manifest_sha256"])
        return state

    def verify(self, data: bytes, now: dt.datetime | None = None) -> VerifiedBundle:
        from engine.bundle.trust import load_trust_store, trust_store_path
        from engine.bundle.verify import verify_bundle

        path = trust_store_path(self.ws.root)
        missing = self.ws.missing_trust_store(path)
        if missing:
            raise EngineError(missing, "E_TRUST_STORE_MISSING")
        trust = load_trust_store(path)
        installed = {r["manifest_sha256"] for r in self.db.execute(
            "SELECT manifest_sha256 FROM installed")}
        try:
            return verify_bundle(data, trust, self._accepted(), now, installed)
        except BundleRejected as exc:
            log.info("bundle refused (%s, %s): %s", exc.category, exc.code, exc.detail)
            raise

    def import_bundle(self, data: bytes, now: dt.datetime | None = None,
                      activate: bool = True) -> tuple[str, int, str]:
        """Verify and install, then activate (unless `activate` is False: a trial's challenger
        is installed beside the champion, which stays active). Returns (model_id, version,
        status).

        The whole import holds SQLite's write lock (BEGIN IMMEDIATE), so the app, its watcher
        and a command-line run importing at the same time are serialized: none can judge a
        version against a rollback state that another is about to raise.
        """
        self.db.execute("BEGIN IMMEDIATE")
        try:
            status = self._import_locked(data, now, activate)
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return status

    def _import_locked(self, data: bytes, now, activate: bool = True) -> tuple[str, int, str]:
        bundle = self.verify(data, now)
        m = bundle.manifest
        installed = any(v.version == m.version for v in self.versions(m.model_id))
        path = self.ws.bundle_path(m.model_id, m.version)
        if bundle.already_accepted and installed:
            if self._installed_file_intact(m.model_id, m.version):
                return m.model_id, m.version, "already-installed"
            return self._repair_locked(bundle, path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, bundle.data)
        faults.step("import.bundle-written")
        from engine.bundle.verify import Accepted

        state = self._accepted()
        if m.version >= state.get(m.model_id, Accepted(0, "")).version:
            state[m.model_id] = Accepted(m.version, bundle.manifest_sha256)
        save_state(self.ws, state)
        faults.step("import.state-raised")
        previous = self.active_version(m.model_id)
        self.db.execute(
            "INSERT OR REPLACE INTO installed VALUES (?,?,?,?,?,?,?,?,?)",
            (m.model_id, m.version, bundle.sha256, bundle.manifest_sha256,
             ",".join(bundle.signers), format_time(m.created), format_time(m.expires),
             now_text(), str(path)))
        if activate:
            self._activate(m.model_id, m.version, previous, "import", bundle.sha256)
        log.info("installed %s %s (bundle %s)", "and activated" if activate else
                 "without activating", bundle.label, bundle.sha256)
        return m.model_id, m.version, "installed"

    def accepted_versions(self) -> dict[str, Accepted]:
        """The rollback state as it should be (see _accepted)."""
        return self._accepted()

    def _installed_file_intact(self, model_id: str, version: int) -> bool:
        try:
            data = self.ws.bundle_path(model_id, version).read_bytes()
        except OSError:
            return False
        return hashlib.sha256(data).hexdigest() == self.bundle_sha256(f"{model_id}@{version}")

    def _repair_locked(self, bundle: VerifiedBundle, path: Path) -> tuple[str, int, str]:
        """Put back the installed file of a version already installed and accepted whose file
        is missing or changed, from a bundle that verified as that same version (same
        manifest): nothing else changes, and the repair is on the record."""
        m = bundle.manifest
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, bundle.data)
        self.db.execute("UPDATE installed SET bundle_sha256 = ?, path = ? WHERE model_id = ? "
                        "AND version = ?", (bundle.sha256, str(path), m.model_id, m.version))
        self.record_activation(m.model_id, m.version, self.active_version(m.model_id),
                               "repair", bundle.sha256)
        log.info("repaired the installed file of %s from a verified bundle (%s)",
                    bundle.label, bundle.sha256)
        return m.model_id, m.version, "repaired"

    def _activate(self, model_id: str, version: int, previous: int | None, action: str,
                  sha: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO active VALUES (?, ?)", (model_id, version))
        self.record_activation(model_id, version, previous, action, sha)

    def record_activation(self, model_id: str, version: int, previous: int | None,
                          action: str, sha: str) -> None:
        """One row of a model's history (import, activate, rollback, deactivate, ...)."""
        self.db.execute("INSERT INTO activations (model_id, version, previous_version, action, "
                        "user, at, bundle_sha256) VALUES (?,?,?,?,?,?,?)",
                        (model_id, version, previous, action, current_user(),
                         now_text(), sha))

    def activate(self, model_id: str, version: int, action: str = "activate") -> str:
        with write_transaction(self.db):
            return self.activate_in_transaction(model_id, version, action)

    def activate_in_transaction(self, model_id: str, version: int,
                                action: str = "activate") -> str:
        """`activate` for a caller that holds the write transaction and records more in it
        (a trial's acceptance: the activation and the ratchet steps commit together)."""
        installed = {v.version: v for v in self.versions(model_id)}
        if version not in installed:
            raise InputError(f"{model_id}@{version} is not installed; `ratchet models list` "
                             "shows what is.", "E_MODEL_UNKNOWN")
        previous = self.active_version(model_id)
        if previous == version:
            return "already-active"
        self._activate(model_id, version, previous, action, installed[version].bundle_sha256)
        faults.step("activate.recorded")
        return {"rollback": "rolled-back", "trial-accept": "accepted"}.get(action, "activated")

    def rollback_in_transaction(self, model_id: str) -> tuple[int, int, str]:
        """Re-activate the version that was active before the current one was activated
        (rollbacks themselves are skipped, so repeated rollbacks keep stepping back), for a
        caller that holds the write transaction and records more in it (the requirements
        that go with it: engine.services.models.rollback). Returns (from, to, status)."""
        current = self.active_version(model_id)
        if current is None:
            raise InputError(f"the model {model_id!r} has no active version.",
                             "E_MODEL_UNKNOWN")
        target = rollback_target(self.activations(model_id), current)
        if target is None:
            raise InputError(f"{model_id}@{current} has no earlier version to roll back "
                             "to.", "E_NOTHING_TO_ROLL_BACK")
        status = self.activate_in_transaction(model_id, target, action="rollback")
        return current, target, status


def check_database_present(ws: Workspace) -> None:
    """Refuse to open a workspace whose database is gone (deleted, or 0 bytes) while it holds
    installed bundles: opening would silently make an empty workspace of it."""
    try:
        size = ws.database.stat().st_size
    except FileNotFoundError:
        size = 0
    if size > 0:
        return
    bundles = ws.installed_bundle_files()
    if bundles:
        state = "is missing" if not ws.database.exists() else "is empty (0 bytes)"
        raise EngineError(
            f"the workspace database {ws.database} {state}, but the workspace holds "
            f"{len(bundles)} installed bundle(s) in {ws.models_dir}. Restore ratchet.db from a "
            "backup if you have one; otherwise run `ratchet doctor --repair`, which rebuilds "
            "the list of installed models from those bundles (the history that was in the "
            "database cannot be recovered).", "E_WORKSPACE_DB_MISSING")


def rollback_target(activations: list[dict], current: int | None) -> int | None:
    """The version a rollback would re-activate, from a model's activation history (oldest
    first): the one active before the current version was last activated by an import or an
    activation. None when there is none."""
    for row in reversed(activations):
        prev = row["previous_version"]
        if (row["version"] == current and row["action"] != "rollback" and prev is not None
                and prev != current):
            return prev
    return None
