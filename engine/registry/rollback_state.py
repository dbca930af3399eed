"""The rollback state: the highest version accepted per model and its manifest hash.

It is what stops an older (or a re-signed different) bundle from being accepted. Written
atomically (temp file, fsync, rename), so a crash mid-write leaves the old state or the new one;
if it is deleted it is rebuilt from the manifests of the installed bundles.
"""

from __future__ import annotations

import json
import logging

from engine.bundle.manifest import MANIFEST, manifest_sha256, parse_manifest
from engine.bundle.verify import Accepted
from engine.bundle.ziparchive import read_members
from engine.errors import EngineError
from engine.fileio import write_atomic
from engine.registry.workspace import Workspace

log = logging.getLogger(__name__)
STATE_FORMAT = "ratchet-rollback-state/1"


def save_state(ws: Workspace, state: dict[str, Accepted]) -> None:
    doc = {"format": STATE_FORMAT,
           "models": {m: {"version": a.version, "manifest_sha256": a.manifest_sha256}
                      for m, a in sorted(state.items())}}
    write_atomic(ws.rollback_state, (json.dumps(doc, indent=2) + "\n").encode())


def rebuild_state(ws: Workspace) -> dict[str, Accepted]:
    """The highest installed version of each model, read from the installed bundles."""
    state: dict[str, Accepted] = {}
    for path in sorted(ws.models_dir.glob("*/*.ratchet")):
        try:
            data = read_members(path.read_bytes())[MANIFEST]
            manifest = parse_manifest(data)
        except (EngineError, KeyError, OSError) as exc:
            log.warning("skipping %s while rebuilding the rollback state: %s", path, exc)
            continue
        known = state.get(manifest.model_id)
        if known is None or manifest.version > known.version:
            state[manifest.model_id] = Accepted(manifest.version, manifest_sha256(data))
    return state


def load_state(ws: Workspace) -> dict[str, Accepted]:
    path = ws.rollback_state
    if path.exists():
        try:
            doc = json.loads(path.read_bytes())
            if doc.get("format") == STATE_FORMAT:
                return {m: Accepted(int(v["version"]), str(v["manifest_sha256"]))
                        for m, v in doc["models"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("the rollback state %s is unreadable (%s); rebuilding it", path, exc)
    return rebuild_state(ws)  # written back by the next install, never by a mere check
