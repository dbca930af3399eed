"""A new workspace starts with the shipped demo model installed (Workspace.open seeds the
default trust store)."""

from __future__ import annotations

import logging

from engine.errors import EngineError
from engine.ground.paths import Workspace
from engine.ground.shipped import shipped_dir
from engine.registry.registry import Registry, read_bundle_file

log = logging.getLogger(__name__)


def first_start(ws: Workspace) -> list[str]:
    """Seed a new workspace; returns the labels of the models installed. Idempotent: does
    nothing once any model has been installed."""
    shipped = shipped_dir("coefficients")
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
