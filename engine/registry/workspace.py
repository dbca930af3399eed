"""Where a workstation keeps its state. Every test uses a temporary one."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from engine.shipped import shipped_dir


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
        default_store = shipped_dir("coefficients") / "trust.json"
        if not ws.trust_store.exists() and default_store.is_file():
            # A new workspace trusts what the shipped default trust store trusts (the demo
            # publisher, for demo-* models only) until an administrator installs another.
            shutil.copyfile(default_store, ws.trust_store)
        return ws

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
