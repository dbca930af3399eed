"""The bundle manifest (`manifest.json`, canonical JSON): what the signature vouches for."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from engine.errors import BundleRejected
from engine.ground.strict_json import NotCanonical, dumps, parse_canonical

BUNDLE_FORMAT = "ratchet-bundle/1"
MANIFEST = "manifest.json"
SIGNATURE = "signature.json"
PAYLOAD_MEMBERS = ("coefficients.json", "requirements.json", "regression_cases.csv")
# Members a bundle may hold besides those (a bundle without them loads as before):
# quality_rules.json, the data-quality rules its now-tests check (engine/formats/quality_rules.py)
OPTIONAL_MEMBERS = ("quality_rules.json",)
MODEL_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")  # always used with fullmatch
FIELDS = {"format", "model_id", "version", "created", "expires", "members"}


def format_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> dt.datetime:
    """Times in manifests and trust stores: UTC, to the second, e.g. 2026-11-26T20:00:00Z."""
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class MemberDigest:
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class Manifest:
    model_id: str
    version: int
    created: dt.datetime
    expires: dt.datetime
    members: dict[str, MemberDigest]

    def to_bytes(self) -> bytes:
        return dumps({
            "format": BUNDLE_FORMAT,
            "model_id": self.model_id,
            "version": self.version,
            "created": format_time(self.created),
            "expires": format_time(self.expires),
            "members": {n: {"sha256": d.sha256, "size": d.size}
                        for n, d in sorted(self.members.items())},
        })

    @classmethod
    def for_members(cls, model_id: str, version: int, created: dt.datetime,
                    expires: dt.datetime, members: dict[str, bytes]) -> Manifest:
        digests = {n: MemberDigest(hashlib.sha256(b).hexdigest(), len(b))
                   for n, b in members.items()}
        return cls(model_id, version, created, expires, digests)


def _damaged(code: str, detail: str) -> BundleRejected:
    return BundleRejected("damaged", code, detail)


def parse_manifest(data: bytes) -> Manifest:
    """Parse and check the manifest bytes (already known to be signed)."""
    try:
        doc = parse_canonical(data)
    except NotCanonical as exc:
        raise _damaged("E_MANIFEST_NOT_CANONICAL", f"manifest.json: {exc}.") from None
    if not isinstance(doc, dict) or set(doc) != FIELDS:
        got = sorted(doc) if isinstance(doc, dict) else type(doc).__name__
        raise _damaged("E_MANIFEST_INVALID",
                       f"manifest.json must have exactly the fields {sorted(FIELDS)}, has {got}.")
    if doc["format"] != BUNDLE_FORMAT:
        raise _damaged("E_MANIFEST_INVALID", f"manifest.json: format {doc['format']!r} is not "
                       f"{BUNDLE_FORMAT!r}; this Ratchet reads only that format.")
    model_id, version = doc["model_id"], doc["version"]
    if not isinstance(model_id, str) or not MODEL_ID.fullmatch(model_id):
        raise _damaged("E_MANIFEST_INVALID", f"manifest.json: model_id {model_id!r} is not a "
                       "valid model id (lower-case letters, digits, '.', '_', '-').")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _damaged("E_MANIFEST_INVALID",
                       f"manifest.json: version {version!r} is not a positive integer.")
    try:
        created, expires = parse_time(doc["created"]), parse_time(doc["expires"])
    except (TypeError, ValueError):
        raise _damaged("E_MANIFEST_INVALID", "manifest.json: created and expires must be UTC "
                       "times like 2026-11-26T20:00:00Z.") from None
    members = doc["members"]
    if not isinstance(members, dict):
        raise _damaged("E_MANIFEST_INVALID", "manifest.json: members must be an object.")
    digests = {}
    for name, entry in members.items():
        ok = (isinstance(entry, dict) and set(entry) == {"sha256", "size"}
              and isinstance(entry["sha256"], str) and re.fullmatch(r"[0-9a-f]{64}",
                                                                    entry["sha256"])
              and isinstance(entry["size"], int) and not isinstance(entry["size"], bool)
              and entry["size"] >= 0)
        if not ok:
            raise _damaged("E_MANIFEST_INVALID", f"manifest.json: the entry for {name!r} needs "
                           "a 64-digit lower-case sha256 and a non-negative integer size.")
        digests[name] = MemberDigest(entry["sha256"], entry["size"])
    return Manifest(model_id, version, created, expires, digests)


def manifest_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
