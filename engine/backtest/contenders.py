"""The models of a back-test, from a workstation's registry: the champion (installed, the
active one unless named) and challengers, installed (ID@V) or given as bundle files that are
verified like an import but never installed. Each comes with its effective requirements (the
bundle's, with this workstation's ratchet steps applied)."""

from __future__ import annotations

from pathlib import Path

from engine.backtest.evaluate import Contender
from engine.registry.refs import parse_ref
from engine.regression.ratchet import effective_requirements

BUNDLE_SUFFIX = ".ratchet"


def installed_contender(registry, ref: str | None) -> Contender:
    """An installed model ("ID", "ID@V", or None for the active model)."""
    model, label = registry.load_model(ref)
    members = registry.bundle_members(label)
    reqs = effective_requirements(registry.db, parse_ref(label)[0], members["requirements.json"])
    return Contender(label, model, reqs, members["coefficients.json"],
                     members.get("regression_cases.csv"))


def bundle_contender(registry, path: Path) -> Contender:
    """A bundle file, verified against this workstation's trust store and rollback state (a
    refusal raises BundleRejected with its code); nothing is installed or recorded."""
    from engine.registry.registry import read_bundle_file

    bundle = registry.verify(read_bundle_file(path))
    members = bundle.members
    reqs = effective_requirements(registry.db, bundle.manifest.model_id,
                                  members["requirements.json"])
    return Contender(bundle.label, bundle.model, reqs, members["coefficients.json"],
                     members.get("regression_cases.csv"))


def is_bundle_path(spec: str) -> bool:
    path = Path(spec)
    return (spec.endswith(BUNDLE_SUFFIX) or path.is_file() or "/" in spec
            or "\\" in spec)


def challenger_contender(registry, spec: str) -> Contender:
    """`spec` is a bundle file (a path, or a name ending in .ratchet) or an installed ID@V."""
    if is_bundle_path(spec):
        return bundle_contender(registry, Path(spec))
    return installed_contender(registry, spec)
