"""Verifying a bundle: structure, then signatures, then manifest, scope, time, version, members,
hashes, and finally that the coefficients reproduce the bundle's own regression cases.

The caller reads the file once and passes the bytes; nothing here touches the disk, so what is
verified is exactly what gets installed. Bundles are canonical archives: members stored (not
deflated, so no compressor's version can change the bytes) with fixed headers, so every byte of
the file follows from the signed content and any alteration at all is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.bundle.manifest import (
    MANIFEST,
    OPTIONAL_MEMBERS,
    PAYLOAD_MEMBERS,
    SIGNATURE,
    Manifest,
    manifest_sha256,
    parse_manifest,
)
from engine.bundle.signing import parse_signatures, public_from_raw, signature_valid
from engine.bundle.trust import TrustedKey, TrustStore
from engine.bundle.ziparchive import read_members, write_members
from engine.errors import BundleRejected, CoefficientsInvalid, EngineError
from engine.formats.quality_rules import QUALITY_RULES, check_quality_rules
from engine.formats.requirements import check_requirements
from engine.model import Model, load_coefficients

if TYPE_CHECKING:
    from engine.formats.cases import CaseResult

CLOCK_SKEW = dt.timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Accepted:
    """The highest version accepted so far for a model, and its manifest's hash."""

    version: int
    manifest_sha256: str


@dataclass(frozen=True, slots=True)
class VerifiedBundle:
    data: bytes
    sha256: str
    manifest: Manifest
    manifest_sha256: str
    members: dict[str, bytes]
    signers: tuple[str, ...]
    model: Model
    cases: tuple[CaseResult, ...]
    already_accepted: bool

    @property
    def label(self) -> str:
        return f"{self.manifest.model_id}@{self.manifest.version}"


def _trusted_signers(members: dict[str, bytes], trust: TrustStore) -> list[TrustedKey]:
    """Distinct trusted keys whose signature over the manifest bytes is valid."""
    signatures = parse_signatures(members[SIGNATURE])
    valid: dict[str, TrustedKey] = {}
    for sig in signatures:
        key = trust.find(sig.keyid)
        if key is None:
            continue
        if not signature_valid(public_from_raw(key.public_raw), members[MANIFEST], sig.sig):
            raise BundleRejected(
                "damaged", "E_SIGNATURE_MISMATCH",
                f"The signature labelled with key {sig.keyid[:16]}… does not match the "
                "manifest: the manifest was changed after signing, or the signature is forged.")
        valid[key.keyid] = key
    if not valid:
        ids = ", ".join(s.keyid[:16] + "…" for s in signatures)
        raise BundleRejected("untrusted", "E_KEY_UNTRUSTED",
                             f"It is signed only by keys this workstation does not trust ({ids}).")
    return list(valid.values())


def _check_scope(keys: list[TrustedKey], manifest: Manifest, trust: TrustStore,
                 now: dt.datetime) -> tuple[str, ...]:
    good = [k for k in keys if k.allows(manifest.model_id) and k.usable_at(now)]
    if len(good) >= trust.threshold:
        return tuple(sorted(k.keyid for k in good))
    if any(k.revoked for k in keys):
        code, why = "E_KEY_REVOKED", "its signing key has been revoked"
    elif any(k.not_after is not None and now > k.not_after for k in keys):
        code, why = "E_KEY_EXPIRED", "its signing key is past its not-after date"
    elif not any(k.allows(manifest.model_id) for k in keys):
        code, why = "E_KEY_SCOPE", f"its signing key may not sign the model {manifest.model_id!r}"
    else:
        code, why = "E_THRESHOLD_NOT_MET", (f"it has {len(good)} valid signature(s) from distinct "
                                            f"trusted keys and {trust.threshold} are required")
    raise BundleRejected("untrusted", code, f"It cannot be accepted: {why}.")


def _check_time(manifest: Manifest, now: dt.datetime) -> None:
    if manifest.created > now + CLOCK_SKEW:
        raise BundleRejected("untrusted", "E_BUNDLE_FROM_FUTURE",
                             f"It claims to be created {manifest.created:%Y-%m-%d %H:%M} UTC, "
                             "in the future; check this workstation's clock.")
    if manifest.expires <= now:
        raise BundleRejected("expired", "E_BUNDLE_EXPIRED",
                             f"It expired on {manifest.expires:%Y-%m-%d %H:%M} UTC; ask the "
                             "publisher for a current bundle.")


def _check_version(manifest: Manifest, digest: str, accepted: Accepted | None,
                   installed: set[str]) -> bool:
    """True when this exact manifest was accepted before (a re-import is a no-op)."""
    if digest in installed:
        return True
    if accepted is None or manifest.version > accepted.version:
        return False
    if manifest.version < accepted.version:
        raise BundleRejected("conflict", "E_VERSION_ROLLBACK",
                             f"It is version {manifest.version} of {manifest.model_id}, older than "
                             f"version {accepted.version} already accepted here.")
    if digest != accepted.manifest_sha256:
        raise BundleRejected("conflict", "E_VERSION_CONFLICT",
                             f"Version {manifest.version} of {manifest.model_id} was already "
                             "accepted here with different content.")
    return True


def _check_members(members: dict[str, bytes], manifest: Manifest) -> None:
    present = set(members) - {MANIFEST, SIGNATURE}
    listed = set(manifest.members)
    for name in sorted(listed - present):
        raise BundleRejected("damaged", "E_MEMBER_MISSING",
                             f"The manifest lists {name}, which the archive lacks.")
    for name in sorted(present - listed):
        raise BundleRejected("damaged", "E_MEMBER_UNLISTED",
                             f"The archive holds {name}, which the manifest does not list.")
    if not set(PAYLOAD_MEMBERS) <= listed <= {*PAYLOAD_MEMBERS, *OPTIONAL_MEMBERS}:
        raise BundleRejected("damaged", "E_MEMBER_SET",
                             f"A bundle holds exactly {', '.join(PAYLOAD_MEMBERS)} (and may "
                             f"hold {', '.join(OPTIONAL_MEMBERS)}); this one lists "
                             f"{', '.join(sorted(listed))}.")
    for name, digest in sorted(manifest.members.items()):
        data = members[name]
        if len(data) != digest.size:
            raise BundleRejected("damaged", "E_SIZE_MISMATCH",
                                 f"{name} has {len(data)} bytes, the manifest says {digest.size}.")
        if hashlib.sha256(data).hexdigest() != digest.sha256:
            raise BundleRejected("damaged", "E_HASH_MISMATCH",
                                 f"{name} does not match the hash in the signed manifest.")


def _check_content(members: dict[str, bytes], manifest: Manifest):
    from engine.formats.cases import run_cases  # pandas: only when a bundle's cases are run

    try:
        model = load_coefficients(members["coefficients.json"], name="coefficients.json")
        check_requirements(members["requirements.json"], model.task)
        if QUALITY_RULES in members:
            check_quality_rules(members[QUALITY_RULES], model.features)
        cases = run_cases(members["regression_cases.csv"], model)
    except CoefficientsInvalid as exc:
        raise BundleRejected("damaged", exc.code, exc.message) from None
    except EngineError as exc:
        raise BundleRejected("damaged", exc.code, exc.message) from None
    if model.model_id != manifest.model_id:
        raise BundleRejected("damaged", "E_MODEL_ID_MISMATCH",
                             f"coefficients.json is for {model.model_id!r}, the manifest for "
                             f"{manifest.model_id!r}.")
    failed = [c for c in cases if not c.passed]
    if failed:
        first = failed[0]
        raise BundleRejected("damaged", "E_REGRESSION_CASES_FAILED",
                             f"{len(failed)} of its {len(cases)} regression cases fail; case row "
                             f"{first.row} ({first.kind}{': ' + first.note if first.note else ''})"
                             f": {first.detail}.")
    return model, tuple(cases)


def verify_bundle(data: bytes, trust: TrustStore, accepted: dict[str, Accepted],
                  now: dt.datetime | None = None,
                  installed: set[str] | frozenset = frozenset()) -> VerifiedBundle:
    """Check everything; return what to install, or raise BundleRejected."""
    now = now or dt.datetime.now(dt.UTC)
    members = read_members(data)
    if write_members(list(members.items()), deflate=False) != data:
        raise BundleRejected("damaged", "E_ZIP_NOT_CANONICAL",
                             "The archive is not in the exact form `ratchet bundle build` writes "
                             "(it was re-packed or altered).")
    for name in (MANIFEST, SIGNATURE):
        if name not in members:
            raise BundleRejected("damaged", "E_MEMBER_MISSING", f"The archive has no {name}.")
    keys = _trusted_signers(members, trust)
    manifest = parse_manifest(members[MANIFEST])
    signers = _check_scope(keys, manifest, trust, now)
    _check_time(manifest, now)
    digest = manifest_sha256(members[MANIFEST])
    again = _check_version(manifest, digest, accepted.get(manifest.model_id), installed)
    _check_members(members, manifest)
    model, cases = _check_content(members, manifest)
    return VerifiedBundle(data, hashlib.sha256(data).hexdigest(), manifest, digest, members,
                          signers, model, cases, again)
