"""Where a workstation keeps its state. Every test uses a temporary one."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def default_workspace() -> Path:
    env = os.environ.get("RATCHET_HOME")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("ratchet", appauthor=False))


@dataclass(frozen=True, slots=True)
class Workspace:
    root: Path

    @classmethod
    def open(cls, root: Path | str | None = None) -> Workspace:
        ws = cls(Path(root) if root is not None else default_workspace())
        for folder in (ws.root, ws.models_dir, ws.reports_dir, ws.logs_dir):
            folder.mkdir(parents=True, exist_ok=True)
        if not ws.has_trust_store() and not ws.installed_bundle_files():
            # A new workspace trusts what the shipped default trust store trusts (the demo
            # publisher, for demo-* models only) until an administrator installs another. One
            # that has models keeps its missing store missing: `ratchet doctor` says so,
            # rather than the demo store silently standing in for the organisation's.
            ws.install_default_trust_store()
        return ws

    def has_trust_store(self) -> bool:
        """A workspace trust store that was written (a 0-byte one never was: a full disk)."""
        try:
            return self.trust_store.stat().st_size > 0
        except OSError:
            return False

    def missing_trust_store(self, path: Path) -> str | None:
        """Why `path` (the trust store in use) cannot verify anything when it is this
        workspace's own and was deleted or never written; None otherwise."""
        if path != self.trust_store or self.has_trust_store():
            return None
        state = "is missing" if not path.exists() else "is empty (0 bytes)"
        return (f"the trust store {path} {state}, so no bundle can be verified; install your "
                "organisation's trust store there (or `ratchet trust add` each publisher key), "
                "or run `ratchet doctor --repair` to install the shipped default, which trusts "
                "only the demo publisher for demo-* models.")

    def install_default_trust_store(self) -> bool:
        """Put the shipped default trust store in place, atomically; False if none ships."""
        # Imported here: the app opens a workspace before its first window (issue 16), and
        # only a new workspace writes anything (fileio brings tempfile and socket).
        from engine.ground.fileio import write_atomic
        from engine.ground.shipped import shipped_dir

        default_store = shipped_dir("coefficients") / "trust.json"
        if not default_store.is_file():
            return False
        write_atomic(self.trust_store, default_store.read_bytes())
        return True

    def installed_bundle_files(self) -> list[Path]:
        return sorted(self.models_dir.glob("*/*.ratchet"))

    @property
    def trust_store(self) -> Path:
        return self.root / "trust.json"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def database(self) -> Path:
        return self.root / "ratchet.db"

    @property
    def rollback_state(self) -> Path:
        return self.root / "rollback-state.json"

    def bundle_path(self, model_id: str, version: int) -> Path:
        return self.models_dir / model_id / f"{model_id}-{version}.ratchet"
