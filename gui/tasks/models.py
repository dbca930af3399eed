"""The Models page's work: a snapshot of the registry, verifying, importing, activating and
rolling back. Every change goes through the workstation service engine.services.models (the
one `ratchet models import | activate | rollback` uses), which the Registry records."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from engine.bundle.trust import load_trust_store, trust_store_path
from engine.errors import EngineError
from engine.progress import CancelToken, Progress
from engine.registry.registry import (
    InstalledVersion,
    Registry,
    read_bundle_file,
    rollback_target,
)
from engine.services import models as services_models

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Snapshot:
    versions: list[InstalledVersion]
    history: dict[str, list[dict]]  # model id -> activations, oldest first
    signer_names: dict[str, str] = field(default_factory=dict)  # key id -> publisher name
    active_label: str | None = None  # the model that predictions use ("ID@V")

    def active_version(self, model_id: str) -> int | None:
        return next((v.version for v in self.versions if v.model_id == model_id and v.active),
                    None)

    def find(self, label: str | None) -> InstalledVersion | None:
        return next((v for v in self.versions if f"{v.model_id}@{v.version}" == label), None)

    def model_states(self) -> list[str]:
        """Per installed model, by id, what is active: "ID@V", "ID deactivated" or "ID: no
        version active" (installed but never activated)."""
        states = []
        for model_id in sorted({v.model_id for v in self.versions}):
            version = self.active_version(model_id)
            if version is not None:
                states.append(f"{model_id}@{version}")
            else:
                history = self.history.get(model_id) or [{}]
                deactivated = history[-1].get("action") == "deactivate"
                states.append(f"{model_id} {'deactivated' if deactivated else 'not active'}")
        return states

    def rollback_target(self, model_id: str) -> int | None:
        """The version a rollback would re-activate (the engine's rule), or None."""
        return rollback_target(self.history.get(model_id, []), self.active_version(model_id))


NO_MODEL = "No model is installed yet."


def status_line(states: list[str]) -> str:
    """The status bar's line: per model what is active (Snapshot.model_states)."""
    if not states:
        return NO_MODEL
    return f"Model{'' if len(states) == 1 else 's'}: " + " · ".join(states)


def workspace_states(registry: Registry) -> list[str]:
    """Snapshot.model_states read straight from a registry (the launcher, before any window)."""
    versions = registry.versions()
    history = {m: registry.activations(m) for m in sorted({v.model_id for v in versions})}
    return Snapshot(versions, history).model_states()


def _signer_names(workspace: Path) -> dict[str, str]:
    try:
        store = load_trust_store(trust_store_path(Path(workspace)))
    except EngineError as exc:  # the names are a nicety; the page still shows the key ids
        log.warning("cannot read the trust store for signer names: %s", exc.message)
        return {}
    return {k.keyid: k.name for k in store.keys if k.name}


def snapshot(workspace: Path, *, progress: Progress, cancel: CancelToken) -> Snapshot:
    registry = Registry.open(workspace)
    try:
        versions = registry.versions()
        history = {m: registry.activations(m) for m in sorted({v.model_id for v in versions})}
        try:
            label: str | None = "{}@{}".format(*registry.resolve(None))
        except EngineError:
            label = None
    finally:
        registry.close()
    return Snapshot(versions, history, _signer_names(Path(workspace)), label)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A verified bundle, described for the confirm dialog, with the exact bytes verified.
    The registry facts are read in the same job, so the dialog never relies on a stale view."""

    path: str
    data: bytes
    model_id: str
    version: int
    expires: str
    signers: tuple[str, ...]
    signer_names: dict[str, str]
    cases: int
    already_accepted: bool
    installed: bool  # this very version is installed already
    active_version: int | None  # the model's active version now


def verify_file(workspace: Path, path: Path, *, progress: Progress,
                cancel: CancelToken) -> Verdict:
    """Raises BundleRejected (or InputError) with the plain message; changes nothing."""
    data = read_bundle_file(Path(path))
    cancel.check()
    registry = Registry.open(workspace)
    try:
        bundle = registry.verify(data)
        m = bundle.manifest
        installed = any(v.version == m.version for v in registry.versions(m.model_id))
        active = registry.active_version(m.model_id)
    finally:
        registry.close()
    return Verdict(str(path), data, m.model_id, m.version, f"{m.expires:%Y-%m-%d}",
                   bundle.signers, _signer_names(Path(workspace)), len(bundle.cases),
                   bundle.already_accepted, installed, active)


def import_verified(workspace: Path, data: bytes, *, progress: Progress,
                    cancel: CancelToken) -> tuple[str, int, str]:
    """Install and activate exactly the bytes that were verified and shown to the operator
    (the registry verifies them once more on the way in)."""
    registry = Registry.open(workspace)
    try:
        return services_models.install(registry, data)
    finally:
        registry.close()


def activate(workspace: Path, model_id: str, version: int, *, progress: Progress,
             cancel: CancelToken) -> str:
    registry = Registry.open(workspace)
    try:
        return services_models.activate(registry, model_id, version)
    finally:
        registry.close()


def deactivate(workspace: Path, model_id: str, *, progress: Progress,
               cancel: CancelToken) -> int:
    """Stop using a model (kept installed, recorded); returns the version that was active."""
    registry = Registry.open(workspace)
    try:
        return services_models.deactivate(registry, model_id)
    finally:
        registry.close()


def rollback(workspace: Path, model_id: str, *, progress: Progress,
             cancel: CancelToken) -> tuple[int, str]:
    registry = Registry.open(workspace)
    try:
        return services_models.rollback(registry, model_id)
    finally:
        registry.close()


def category_inputs(workspace: Path, model_ref: str, columns: list[str] | None = None, *,
                    progress: Progress, cancel: CancelToken) -> list[str]:
    """The model's category inputs (those in ``columns`` when given: a corpus's header): what
    its metrics can be broken down by (`--segment`)."""
    from engine.model.categories import CATEGORY

    registry = Registry.open(workspace)
    try:
        model = registry.load_model(model_ref)[0]
    finally:
        registry.close()
    have = None if columns is None else set(columns)
    return [f.name for f in model.features
            if f.type == CATEGORY and (have is None or f.name in have)]
