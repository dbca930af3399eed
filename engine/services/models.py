"""Installing, activating and rolling back models, with the requirements that go with them."""

from __future__ import annotations

from engine.ground import faults
from engine.ground.database import write_transaction
from engine.trial.rollback import restore_requirements


def install(registry, data: bytes) -> tuple[str, int, str]:
    """Verify a bundle's bytes, install and activate exactly those bytes (the registry verifies
    structure, signatures and content first, and records the activation). Returns
    (model id, version, status: "installed" | "already-installed" | ...)."""
    return registry.import_bundle(data)


def activate(registry, model_id: str, version: int) -> str:
    """Make an installed version the active one (recorded); returns the status."""
    return registry.activate(model_id, version)


def deactivate(registry, model_id: str) -> int:
    """Stop using a model: kept installed with its history, no active version, never chosen
    by default, the deactivation recorded (engine.registry.choice.deactivate). `activate`
    brings it back. Returns the version that was active."""
    from engine.registry.choice import deactivate as deactivate_model

    return deactivate_model(registry, model_id)


def rollback(registry, model_id: str) -> tuple[int, str]:
    """Re-activate the previous version (Registry.rollback_in_transaction). When the current
    version became active by accepting a trial, the requirement steps taken at that acceptance
    are undone on the record in the same transaction, so the previous champion comes back with
    its own requirements (engine.trial.rollback). Returns (version, status)."""
    with write_transaction(registry.db):
        current, target, status = registry.rollback_in_transaction(model_id)
        restore_requirements(registry.db, model_id, current, target)
        faults.step("rollback.requirements-restored")
    return target, status
