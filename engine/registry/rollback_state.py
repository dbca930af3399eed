"""The rollback state: the highest version accepted per model and its manifest hash.

It is what stops an older (or a re-signed different) bundle from being accepted. Written
atomically (temp file, fsync, rename), so a crash mid-write leaves the old state or the new one;
if it is deleted it is rebuilt from the manifests of the installed bundles. A save never lowers
it: under an exclusive lock (rollback-state.json.lock) it re-reads the file and keeps, model by
model, the higher version of the two (the one already stored on a tie), so a writer holding a
state it read earlier cannot take back what another wrote since.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from engine.bundle.manifest import MANIFEST, manifest_sha256, parse_manifest
from engine.bundle.ziparchive import read_members
from engine.errors import EngineError
from engine.ground.fileio import exclusive_lock, write_atomic
from engine.ground.paths import Workspace

if TYPE_CHECKING:
    from engine.bundle.verify import Accepted

log = logging.getLogger(__name__)
STATE_FORMAT = "ratchet-rollback-state/1"


def race_window(state_path) -> None:
    """Called by save_state between its re-read and its write, under the lock. Does nothing;
    a test replaces it to check the lock is held there."""


def merge_states(stored: dict[str, Accepted], new: dict[str, Accepted]) -> dict[str, Accepted]:
    """Model by model, the higher version; on a tie the stored one (first accepted wins)."""
    out = dict(stored)
    for model_id, accepted in new.items():
        known = out.get(model_id)
        if known is None or accepted.version > known.version:
            out[model_id] = accepted
    return out


def save_state(ws: Workspace, state: dict[str, Accepted]) -> dict[str, Accepted]:
    """Merge `state` into the stored state (never lowering a version) and write it; returns
    what was written."""
    path = ws.rollback_state
    with exclusive_lock(path.with_name(path.name + ".lock")):
        merged = merge_states(_read_state(ws) or {}, state)
        race_window(path)
        doc = {"format": STATE_FORMAT,
               "models": {m: {"version": a.version, "manifest_sha256": a.manifest_sha256}
                          for m, a in sorted(merged.items())}}
        write_atomic(path, (json.dumps(doc, indent=2) + "\n").encode())
    return merged


def rebuild_state(ws: Workspace) -> dict[str, Accepted]:
    """The highest installed version of each model, read from the installed bundles."""
    from engine.bundle.verify import Accepted  # signatures' code: not on the predict path

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


def _read_state(ws: Workspace) -> dict[str, Accepted] | None:
    """The stored state, or None when there is none or it is unreadable (logged)."""
    path = ws.rollback_state
    if not path.exists():
        return None
    from engine.bundle.verify import Accepted

    try:
        doc = json.loads(path.read_bytes())
        if doc.get("format") == STATE_FORMAT:
            return {m: Accepted(int(v["version"]), str(v["manifest_sha256"]))
                    for m, v in doc["models"].items()}
        log.warning("the rollback state %s is not in format %s; rebuilding it", path,
                    STATE_FORMAT)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("the rollback state %s is unreadable (%s); rebuilding it", path, exc)
    return None


def load_state(ws: Workspace) -> dict[str, Accepted]:
    stored = _read_state(ws)
    # an unreadable state is rebuilt, and written back by the next install, never by a check
    return stored if stored is not None else rebuild_state(ws)
