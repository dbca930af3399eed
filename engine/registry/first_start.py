"""A new workspace starts with the default trust store and the shipped demo model installed."""

from __future__ import annotations

import logging
import shutil

from engine.bundle.trust import trust_store_path
from engine.errors import EngineError
from engine.registry.registry import Registry, read_bundle_file
from engine.registry.workspace import Workspace
from engine.shipped import shipped_dir

log = logging.getLogger(__name__)


def first_start(ws: Workspace) -> list[str]:
    """Seed a new workspace; returns the labels of the models installed. Idempotent: does
    nothing once any model has been installed."""
    shipped = shipped_dir("coefficients")
    store = trust_store_path(ws.root)
    if store == ws.root / "trust.json" and not store.exists() and (
            shipped / "trust.json").is_file():
        shutil.copyfile(shipped / "trust.json", store)
    registry = Registry(ws)
    installed = []
    try:
        if registry.versions():
            return []
        for bundle in sorted(shipped.glob("*.ratchet")):
            try:
                model_id, version, _ = registry.import_bundle(read_bundle_file(bundle))
            except EngineError as exc:  # a broken shipped bundle must not stop the app
                log.error("could not install the shipped bundle %s: %s", bundle, exc)
                continue
            installed.append(f"{model_id}@{version}")
    finally:
        registry.close()
    return installed
