"""Test kit for bundles: a small real model, publisher keys, a workspace, and a way to build
bundles with any part altered (the tests play publisher and attacker)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sklearn.linear_model import LogisticRegression

from engine.bundle.manifest import MANIFEST, PAYLOAD_MEMBERS, SIGNATURE, Manifest
from engine.bundle.signing import key_id, raw_public, sign_manifest
from engine.bundle.trust import TrustedKey, TrustStore
from engine.bundle.ziparchive import write_members
from engine.export.exporter import export_model

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
FEATURES = ["x0", "x1", "x2"]


def payload_for(model_id: str, seed: int = 0) -> dict[str, bytes]:
    """coefficients.json, requirements.json and regression_cases.csv of a real small model."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=FEATURES)
    y = (X["x0"] - X["x1"] + rng.normal(0, 0.5, 300) > 0).astype(int)
    fitted = LogisticRegression().fit(X, y)
    doc = export_model(fitted, X.assign(y=y), "y", model_id)
    cases = X.iloc[:5].copy()
    proba = fitted.predict_proba(cases)
    cases["expected"] = fitted.predict(cases).astype(str)
    cases["expected_proba_0"] = [repr(float(p)) for p in proba[:, 0]]
    cases["expected_proba_1"] = [repr(float(p)) for p in proba[:, 1]]
    cases["tolerance"] = "1e-12"
    cases["kind"] = "golden"
    cases["note"] = ""
    cases["source"] = "test"
    buf = io.StringIO()
    cases.to_csv(buf, index=False, float_format="%.17g")
    requirements = {"format": "ratchet-requirements/1",
                    "metrics": [{"metric": "roc_auc", "min": 0.7}]}
    return {"coefficients.json": json.dumps(doc).encode(),
            "requirements.json": json.dumps(requirements).encode(),
            "regression_cases.csv": buf.getvalue().encode()}


class Publisher:
    def __init__(self, name: str):
        self.name = name
        self.key = Ed25519PrivateKey.generate()
        self.keyid = key_id(self.key.public_key())

    def trusted(self, models: str = "test-*", **kw) -> TrustedKey:
        return TrustedKey(self.keyid, raw_public(self.key.public_key()), models, self.name, **kw)


ALICE = Publisher("alice")  # the publisher conftest's `alice_ws` trusts


def assemble(payload: dict[str, bytes], model_id: str = "test-model", version: int = 1,
             signers=(), created: dt.datetime = NOW - dt.timedelta(days=1),
             expires: dt.datetime = NOW + dt.timedelta(days=365), manifest: bytes | None = None,
             signature: bytes | None = None, extra: list | None = None) -> bytes:
    """A bundle from parts; any part may be replaced to make a broken one."""
    listed = {n: payload[n] for n in PAYLOAD_MEMBERS if n in payload}
    if manifest is None:
        manifest = Manifest.for_members(model_id, version, created, expires, listed).to_bytes()
    if signature is None:
        signature = sign_manifest(manifest, [s.key for s in signers])
    members = [(MANIFEST, manifest), (SIGNATURE, signature)]
    members += [(n, b) for n, b in payload.items()] + (extra or [])
    return write_members(members, deflate=False)


def make_store(path: Path, keys, threshold: int = 1) -> TrustStore:
    store = TrustStore(path, tuple(keys), threshold)
    store.save()
    return store


def snapshot(root: Path) -> dict:
    """Everything a refused import must leave unchanged: files and database rows."""
    files = {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(root.rglob("*")) if p.is_file() and not p.name.endswith(
                 ("-wal", "-shm"))}
    files.pop("ratchet.db", None)
    rows = {}
    db = root / "ratchet.db"
    if db.exists():
        conn = sqlite3.connect(db)
        for table in ("installed", "active", "activations"):
            rows[table] = conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
        conn.close()
    return {"files": files, "rows": rows}
