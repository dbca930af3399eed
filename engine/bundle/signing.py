"""Ed25519 signatures over the manifest bytes, DSSE style (signature.json).

The signed message is DSSE's pre-authentication encoding of (payload type, manifest bytes), so
a signature made for some other kind of document can never pass as a manifest signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from engine.errors import BundleRejected, InputError
from engine.ground.strict_json import NotCanonical, dumps, parse_strict

PAYLOAD_TYPE = "application/vnd.ratchet.manifest+json"
MAX_SIGNATURE_BYTES = 16 * 1024  # 16 signatures of ~150 bytes fit many times over


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """A key's id: the sha256 of its 32 raw public bytes, in hex."""
    return hashlib.sha256(raw_public(key)).hexdigest()


@dataclass(frozen=True, slots=True)
class Signature:
    keyid: str
    sig: bytes


def sign_manifest(manifest: bytes, private_keys: list[Ed25519PrivateKey]) -> bytes:
    """signature.json for `manifest`, one signature per key (canonical JSON)."""
    message = pae(PAYLOAD_TYPE, manifest)
    sigs = [{"keyid": key_id(k.public_key()), "sig": base64.b64encode(k.sign(message)).decode()}
            for k in private_keys]
    return dumps({"payloadType": PAYLOAD_TYPE, "signatures": sigs})


def parse_signatures(data: bytes) -> list[Signature]:
    def bad(why: str) -> BundleRejected:
        return BundleRejected("damaged", "E_SIGNATURE_INVALID", f"signature.json: {why}.")

    if len(data) > MAX_SIGNATURE_BYTES:
        raise bad(f"it has {len(data)} bytes, more than the {MAX_SIGNATURE_BYTES} any real "
                  "signature file needs")
    try:
        doc = parse_strict(data)
    except NotCanonical as exc:
        raise bad(str(exc)) from None
    if not isinstance(doc, dict) or set(doc) != {"payloadType", "signatures"}:
        raise bad("it needs exactly the fields payloadType and signatures")
    if doc["payloadType"] != PAYLOAD_TYPE:
        raise bad(f"payloadType must be {PAYLOAD_TYPE!r}")
    if not isinstance(doc["signatures"], list) or not doc["signatures"]:
        raise bad("it holds no signature")
    out = []
    for entry in doc["signatures"][:16]:
        if not (isinstance(entry, dict) and set(entry) == {"keyid", "sig"}
                and isinstance(entry["keyid"], str) and isinstance(entry["sig"], str)):
            raise bad("each signature needs a keyid and a sig")
        try:
            sig = base64.b64decode(entry["sig"], validate=True)
        except (binascii.Error, ValueError):
            raise bad("a sig is not base64") from None
        out.append(Signature(entry["keyid"], sig))
    return out


def signature_valid(public: Ed25519PublicKey, manifest: bytes, sig: bytes) -> bool:
    try:
        public.verify(sig, pae(PAYLOAD_TYPE, manifest))
    except InvalidSignature:
        return False
    return True


# -- key files -------------------------------------------------------------------------------

def generate_keys(out_dir: Path, name: str = "publisher") -> tuple[Path, Path, str]:
    """Write NAME.key (PKCS#8 PEM, private: keep it secret) and NAME.pub (PEM) into out_dir,
    creating it (readable by its owner only) if it does not exist yet."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir} is a file, not a folder; give the folder the keys should "
                         "be written to.")
    try:
        out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder {out_dir} ({exc.strerror}); create it "
                         "yourself or choose another.") from exc
    private, public = out_dir / f"{name}.key", out_dir / f"{name}.pub"
    for path in (private, public):
        if path.exists():
            raise InputError(f"{path} already exists; Ratchet never overwrites a key. Choose "
                             "another folder or move the old key away.")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    private.touch(mode=0o600)
    private.write_bytes(pem)
    public.write_bytes(pub)
    return private, public, key_id(key.public_key())


def _load_key(path: Path, private: bool):
    """A PEM key file made by `ratchet keys generate`, or a clear InputError."""
    kind = "private" if private else "public"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the {kind} key {path}: {exc.strerror}.") from exc
    try:
        key = (serialization.load_pem_private_key(data, password=None) if private
               else serialization.load_pem_public_key(data))
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path} is not an unencrypted PEM {kind} key ({exc}); use the "
                         f"{'.key' if private else '.pub'} file made by `ratchet keys "
                         "generate`.") from exc
    if not isinstance(key, Ed25519PrivateKey if private else Ed25519PublicKey):
        raise InputError(f"{path} is not an Ed25519 {kind} key; use `ratchet keys generate`.")
    return key


def load_private_key(path: Path) -> Ed25519PrivateKey:
    return _load_key(path, private=True)


def load_public_key(path: Path) -> Ed25519PublicKey:
    return _load_key(path, private=False)


def public_from_raw(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)
