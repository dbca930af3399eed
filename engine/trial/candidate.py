"""The candidate of a gate or a trial, and the champion it challenges.

A candidate is a bundle file (verified against this workstation's trust store and rollback
state, never installed by the gate) or an installed version (ID@V). Its champion is the active
version of the same model id. The candidate is held to the stricter of its own effective
requirements and the champion's, metric by metric: a publisher cannot lower a workstation's
bar by shipping lower bounds (only a recorded override lowers a requirement).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from engine.backtest.contenders import installed_contender, is_bundle_path
from engine.backtest.evaluate import Contender
from engine.errors import InputError
from engine.formats.requirements import Requirement
from engine.model import Model, load_coefficients
from engine.registry.refs import parse_ref
from engine.regression.ratchet import effective_requirements


@dataclass(frozen=True, slots=True)
class Candidate:
    label: str  # "ID@V"
    model: Model
    members: dict[str, bytes]
    bundle_sha256: str
    data: bytes | None  # the verified bundle bytes (None: already installed)

    @property
    def model_id(self) -> str:
        return parse_ref(self.label)[0]

    @property
    def version(self) -> int:
        return int(parse_ref(self.label)[1])


def load_candidate(registry, spec: str | Path) -> Candidate:
    """A bundle file (read once and verified; refusals raise BundleRejected) or an installed
    ID@V."""
    from engine.registry.registry import read_bundle_file

    text = str(spec)
    if isinstance(spec, Path) or is_bundle_path(text):
        data = read_bundle_file(Path(text))
        bundle = registry.verify(data)
        return Candidate(bundle.label, bundle.model, bundle.members, bundle.sha256, data)
    model_id, version = parse_ref(text)
    if version is None:
        raise InputError(f"{text!r}: name the candidate as a bundle file or an installed "
                         "version ID@VERSION.", "E_USAGE")
    label = f"{model_id}@{registry.resolve(text)[1]}"
    members = registry.bundle_members(label)
    return Candidate(label, load_coefficients(members["coefficients.json"]), members,
                     registry.bundle_sha256(label), None)


def champion_of(registry, candidate: Candidate) -> Contender:
    """The active version of the candidate's model id, with its effective requirements."""
    active = registry.active_version(candidate.model_id)
    if active is None:
        raise InputError(f"{candidate.label} has no champion to challenge: no version of "
                         f"{candidate.model_id!r} is active here. Import a first version with "
                         "`ratchet models import BUNDLE`.", "E_NO_CHAMPION")
    champion = installed_contender(registry, f"{candidate.model_id}@{active}")
    if champion.label == candidate.label:
        raise InputError(f"{candidate.label} is the active version already: it is the "
                         "champion, not a challenger.", "E_USAGE")
    a, b = champion.model, candidate.model
    if (a.task, list(a.classes), a.target) != (b.task, list(b.classes), b.target):
        raise InputError(f"{candidate.label} cannot challenge {champion.label}: it predicts "
                         f"{b.target!r} ({b.task}, classes {list(b.classes)}), the champion "
                         f"{a.target!r} ({a.task}, classes {list(a.classes)}).",
                         "E_INCOMPATIBLE")
    return champion


def gate_requirements(candidate: list[Requirement], champion: list[Requirement]
                      ) -> list[Requirement]:
    """The candidate's requirements, each at least as strict as the champion's on the same
    metric and scope, plus the champion's that the candidate's bundle does not name."""
    theirs = {(r.metric, r.applies): r for r in champion}
    out = []
    for r in candidate:
        other = theirs.pop((r.metric, r.applies), None)
        if other is not None:
            stricter = max if r.higher_is_better else min
            r = replace(r, bound=stricter(r.bound, other.bound))
        out.append(r)
    return out + list(theirs.values())


def candidate_requirements(registry, candidate: Candidate, champion: Contender
                           ) -> list[Requirement]:
    own = effective_requirements(registry.db, candidate.model_id,
                                 candidate.members["requirements.json"])
    return gate_requirements(own, champion.requirements)


