"""Helpers for the GUI tests: test data and the one timeout they wait with."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from gui.tasks.predict import sample_csv

# Generous: the tests wait for signals and states, never for wall-clock time; this only bounds
# how long a broken test takes to fail.
TIMEOUT_MS = 30_000


def copy_sample(tmp_path: Path, name: str, edit=None, repeat: int = 1) -> Path:
    """The demo sample CSV, optionally with fields changed by ``edit(header, body)``, and its
    data rows optionally repeated (150 times: 300,000 rows, for a run long enough to cancel)."""
    with sample_csv().open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    if edit:
        edit(header, body)
    path = tmp_path / name
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for _ in range(repeat):
            writer.writerows(body)
    return path


def build_test_bundles(tmp_path: Path, versions=(1, 2), model_id: str = "test-model"):
    """Signed bundles of a small real model, by a test publisher, and a trust store (the
    shipped one plus that publisher, for test-* models) to point RATCHET_TRUST_STORE at.

    Returns (trust store path, {version: bundle path}, publisher).
    """
    from engine.bundle.build import build_bundle
    from engine.bundle.trust import load_trust_store
    from engine.ground.shipped import shipped_dir
    from tests.engine.bundle_kit import Publisher, payload_for

    publisher = Publisher("Test publisher")
    store = load_trust_store(shipped_dir("coefficients") / "trust.json")
    store = store.with_key(publisher.trusted("test-*"))
    trust = tmp_path / "trust.json"
    type(store)(trust, store.keys, store.threshold).save()
    created = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)
    bundles = {}
    for version in versions:
        data = build_bundle(payload_for(model_id, seed=version), version, [publisher.key],
                            created=created, expires=created + dt.timedelta(days=400))
        bundles[version] = tmp_path / f"{model_id}-{version}.ratchet"
        bundles[version].write_bytes(data)
    return trust, bundles, publisher
