"""The trust store: which publisher keys may sign which models, until when.

Kept where an administrator installs it: $RATCHET_TRUST_STORE if set, else the system-wide
/etc/ratchet/trust.json if it exists (the installer puts it there), else the workspace's
trust.json (a new workspace gets a copy of the shipped coefficients/trust.json).
"""

from __future__ import annotations

import base64
import datetime as dt
import fnmatch
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

from engine.bundle.manifest import format_time, parse_time
from engine.bundle.signing import key_id, public_from_raw, raw_public
from engine.errors import EngineError, InputError
from engine.ground.fileio import write_atomic

TRUST_FORMAT = "ratchet-trust/1"
SYSTEM_TRUST_STORE = Path("/etc/ratchet/trust.json")


@dataclass(frozen=True, slots=True)
class TrustedKey:
    keyid: str
    public_raw: bytes
    models: str  # fnmatch pattern over model ids, e.g. "demo-*"
    name: str = ""
    revoked: bool = False
    not_after: dt.datetime | None = None

    def allows(self, model_id: str) -> bool:
        return fnmatch.fnmatchcase(model_id, self.models)

    def usable_at(self, now: dt.datetime) -> bool:
        return not self.revoked and (self.not_after is None or now <= self.not_after)

    def to_json(self) -> dict:
        return {"keyid": self.keyid, "public_key": base64.b64encode(self.public_raw).decode(),
                "models": self.models, "name": self.name, "revoked": self.revoked,
                "not_after": None if self.not_after is None else format_time(self.not_after)}


@dataclass(frozen=True, slots=True)
class TrustStore:
    path: Path
    keys: tuple[TrustedKey, ...]
    threshold: int = 1

    def find(self, keyid: str) -> TrustedKey | None:
        return next((k for k in self.keys if k.keyid == keyid), None)

    def save(self) -> None:
        doc = {"format": TRUST_FORMAT, "threshold": self.threshold,
               "keys": [k.to_json() for k in self.keys]}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, (json.dumps(doc, indent=2) + "\n").encode())
        except OSError as exc:
            raise EngineError(f"the trust store {self.path} cannot be written ({exc.strerror}); "
                              "an administrator must change it.", "E_TRUST_STORE_READONLY"
                              ) from exc

    def with_key(self, key: TrustedKey) -> TrustStore:
        known = self.find(key.keyid)
        if known:
            state = "revoked" if known.revoked else f"trusted for {known.models!r}"
            raise InputError(f"the key {key.keyid[:16]}… is already in the trust store "
                             f"{self.path} ({state}); a key's entry is never silently changed. "
                             "To trust this publisher again or for other models, have them "
                             "make a new key.", "E_KEY_EXISTS")
        return replace(self, keys=(*self.keys, key))

    def revoked(self, keyid: str) -> TrustStore:
        matches = [k for k in self.keys if k.keyid.startswith(keyid)] if len(keyid) >= 8 else []
        if len(matches) != 1:
            raise InputError(f"no single key in {self.path} has an id starting with {keyid!r}; "
                             "`ratchet trust list` shows the ids.", "E_KEY_UNKNOWN")
        return replace(self, keys=tuple(replace(k, revoked=True) if k is matches[0] else k
                                        for k in self.keys))


def parse_not_after(text: str, now: dt.datetime) -> dt.datetime:
    """`trust add --not-after DATE`: the end (UTC) of that day, the last one the key is
    trusted. A day already past is refused: a key trusted only until then could sign nothing."""
    try:
        day = dt.datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=dt.UTC)
    except ValueError:
        raise InputError(f"--not-after {text!r} is not a date like 2027-12-31.") from None
    not_after = day + dt.timedelta(days=1, seconds=-1)  # trusted through that day
    if not_after < now:
        raise InputError(f"--not-after {text} is in the past (today is {now:%Y-%m-%d} UTC), so "
                         "the key would be trusted for nothing. Give the last day the key "
                         "should be trusted, today or later (e.g. 2027-12-31), or leave "
                         "--not-after out to trust it until it is revoked.",
                         "E_NOT_AFTER_PAST")
    return not_after


def trust_store_path(workspace: Path) -> Path:
    env = os.environ.get("RATCHET_TRUST_STORE")
    if env:
        return Path(env)
    if SYSTEM_TRUST_STORE.is_file():
        return SYSTEM_TRUST_STORE
    return workspace / "trust.json"


def _bad(path: Path, why: str) -> EngineError:
    return EngineError(f"the trust store {path} is unusable: {why}. Ask the administrator to "
                       "reinstall it.", "E_TRUST_STORE_INVALID")


def load_trust_store(path: Path) -> TrustStore:
    """Read a trust store; a missing file is an empty store (nothing is trusted)."""
    if not path.exists():
        return TrustStore(path, ())
    try:
        doc = json.loads(path.read_bytes())
        if doc.get("format") != TRUST_FORMAT:
            raise _bad(path, f"its format is not {TRUST_FORMAT}")
        threshold = doc.get("threshold", 1)
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
            raise _bad(path, "threshold must be a positive integer")
        keys = []
        for entry in doc["keys"]:
            raw = base64.b64decode(entry["public_key"], validate=True)
            public = public_from_raw(raw)
            if key_id(public) != entry["keyid"]:
                raise _bad(path, f"the key id {entry['keyid'][:16]}… does not match its key")
            not_after = entry.get("not_after")
            keys.append(TrustedKey(entry["keyid"], raw_public(public), str(entry["models"]),
                                   str(entry.get("name", "")), bool(entry.get("revoked")),
                                   None if not_after is None else parse_time(not_after)))
    except EngineError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise _bad(path, f"{type(exc).__name__}: {exc}") from exc
    return TrustStore(path, tuple(keys), threshold)
