"""Signed bundles end to end: a good bundle installs and activates; every kind of bad bundle
is refused with its stable code and one of four plain messages, and nothing changes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from functools import cache

import pytest

from engine.bundle.manifest import MANIFEST, Manifest
from engine.bundle.signing import sign_manifest
from engine.errors import BundleRejected
from engine.ground.strict_json import dumps
from engine.registry.registry import Registry
from engine.services.models import rollback
from tests.engine.bundle_kit import (
    ALICE,
    NOW,
    Publisher,
    assemble,
    make_store,
    payload_for,
    snapshot,
)

MALLORY, BOB = Publisher("mallory"), Publisher("bob")


@cache
def payload(model_id: str = "test-model", seed: int = 0) -> dict[str, bytes]:
    return payload_for(model_id, seed)



@pytest.fixture
def registry(alice_ws):
    reg = Registry(alice_ws)
    yield reg
    reg.close()


def refused(registry, data: bytes, code: str | set, category: str) -> BundleRejected:
    before = snapshot(registry.ws.root)
    with pytest.raises(BundleRejected) as info:
        registry.import_bundle(data, now=NOW)
    assert info.value.code in ({code} if isinstance(code, str) else code), info.value.message
    assert info.value.category == category
    assert info.value.message.startswith(BundleRejected.HEADLINES[category])
    assert snapshot(registry.ws.root) == before  # nothing changed
    return info.value


def good(version: int = 1, seed: int = 0, **kw) -> bytes:
    return assemble(payload(seed=seed), version=version, signers=[ALICE], **kw)


def test_good_bundle_installs_activates_and_reimport_is_a_noop(registry):
    assert registry.import_bundle(good(), now=NOW) == ("test-model", 1, "installed")
    assert registry.active_version("test-model") == 1
    model, label = registry.load_model("test-model")
    assert label == "test-model@1" and model.feature_names == ["x0", "x1", "x2"]
    before = snapshot(registry.ws.root)
    assert registry.import_bundle(good(), now=NOW) == ("test-model", 1, "already-installed")
    assert snapshot(registry.ws.root) == before
    history = registry.activations("test-model")
    assert [(h["action"], h["version"]) for h in history] == [("import", 1)]
    assert history[0]["user"] and history[0]["bundle_sha256"]


def test_versions_activate_and_roll_back(registry):
    registry.import_bundle(good(1), now=NOW)
    registry.import_bundle(good(2, seed=1), now=NOW)
    registry.import_bundle(good(3, seed=2), now=NOW)
    assert registry.active_version("test-model") == 3
    assert rollback(registry, "test-model") == (2, "rolled-back")
    assert rollback(registry, "test-model") == (1, "rolled-back")
    with pytest.raises(Exception, match="no earlier version"):
        rollback(registry, "test-model")
    assert registry.activate("test-model", 3) == "activated"
    assert registry.load_model()[1] == "test-model@3"
    actions = [(h["action"], h["version"]) for h in registry.activations("test-model")]
    assert actions == [("import", 1), ("import", 2), ("import", 3), ("rollback", 2),
                       ("rollback", 1), ("activate", 3)]


def test_tampered_member_with_consistent_crc(registry):
    p = dict(payload())
    p["requirements.json"] = p["requirements.json"].replace(b"0.7", b"0.1")
    manifest = Manifest.for_members("test-model", 1, NOW - dt.timedelta(days=1),
                                    NOW + dt.timedelta(days=30), payload()).to_bytes()
    data = assemble(p, signers=[ALICE], manifest=manifest)  # re-zipped: CRCs are consistent
    refused(registry, data, "E_HASH_MISMATCH", "damaged")


def test_member_swapped_from_another_signed_bundle(registry):
    other = payload(seed=1)
    p = dict(payload())
    p["coefficients.json"] = other["coefficients.json"]
    manifest = Manifest.for_members("test-model", 1, NOW - dt.timedelta(days=1),
                                    NOW + dt.timedelta(days=30), payload()).to_bytes()
    refused(registry, assemble(p, signers=[ALICE], manifest=manifest),
            {"E_HASH_MISMATCH", "E_SIZE_MISMATCH"}, "damaged")


def test_manifest_edited_without_resigning(registry):
    manifest = Manifest.for_members("test-model", 1, NOW - dt.timedelta(days=1),
                                    NOW + dt.timedelta(days=30), payload()).to_bytes()
    signature = sign_manifest(manifest, [ALICE.key])
    edited = manifest.replace(b'"version":1', b'"version":9')
    refused(registry, assemble(payload(), manifest=edited, signature=signature),
            "E_SIGNATURE_MISMATCH", "damaged")


def test_untrusted_key_and_forged_key_id(registry):
    refused(registry, assemble(payload(), signers=[MALLORY]), "E_KEY_UNTRUSTED", "untrusted")
    manifest = Manifest.for_members("test-model", 1, NOW - dt.timedelta(days=1),
                                    NOW + dt.timedelta(days=30), payload()).to_bytes()
    forged = json.loads(sign_manifest(manifest, [MALLORY.key]))
    forged["signatures"][0]["keyid"] = ALICE.keyid  # Mallory's signature, Alice's label
    refused(registry, assemble(payload(), manifest=manifest, signature=dumps(forged)),
            "E_SIGNATURE_MISMATCH", "damaged")


@pytest.mark.parametrize(("change", "code"), [
    ({"revoked": True}, "E_KEY_REVOKED"),
    ({"not_after": NOW - dt.timedelta(days=1)}, "E_KEY_EXPIRED"),
    ({"models": "prod-*"}, "E_KEY_SCOPE"),
])
def test_key_revoked_expired_or_out_of_scope(registry, change, code):
    make_store(registry.ws.root / "trust.json",
               [dataclasses.replace(ALICE.trusted(), **change)])
    refused(registry, good(), code, "untrusted")


def test_threshold_counts_distinct_keys(registry):
    make_store(registry.ws.root / "trust.json", [ALICE.trusted(), BOB.trusted()], threshold=2)
    twice = assemble(payload(), signers=[ALICE, ALICE])
    refused(registry, twice, "E_THRESHOLD_NOT_MET", "untrusted")
    both = assemble(payload(), signers=[ALICE, BOB])
    assert registry.import_bundle(both, now=NOW)[2] == "installed"


def test_older_version_and_same_version_other_content(registry):
    registry.import_bundle(good(2), now=NOW)
    refused(registry, good(1, seed=1), "E_VERSION_ROLLBACK", "conflict")
    refused(registry, good(2, seed=1), "E_VERSION_CONFLICT", "conflict")


def test_expired_and_future_bundles(registry):
    refused(registry, good(expires=NOW - dt.timedelta(seconds=1)), "E_BUNDLE_EXPIRED",
            "expired")
    refused(registry, good(created=NOW + dt.timedelta(days=2)), "E_BUNDLE_FROM_FUTURE",
            "untrusted")


def test_unlisted_and_missing_members(registry):
    refused(registry, good(extra=[("notes.txt", b"hello")]), "E_MEMBER_UNLISTED", "damaged")
    p = {k: v for k, v in payload().items() if k != "requirements.json"}
    manifest = Manifest.for_members("test-model", 1, NOW - dt.timedelta(days=1),
                                    NOW + dt.timedelta(days=30), payload()).to_bytes()
    refused(registry, assemble(p, manifest=manifest, signers=[ALICE]), "E_MEMBER_MISSING",
            "damaged")


def test_non_canonical_manifest_and_duplicate_keys(registry):
    canonical = Manifest.for_members("test-model", 1, NOW - dt.timedelta(days=1),
                                     NOW + dt.timedelta(days=30), payload()).to_bytes()
    pretty = json.dumps(json.loads(canonical), indent=1).encode()
    refused(registry, assemble(payload(), manifest=pretty, signers=[ALICE]),
            "E_MANIFEST_NOT_CANONICAL", "damaged")
    duplicate = canonical.replace(b'{"created"', b'{"created":"2020-01-01T00:00:00Z","created"')
    refused(registry, assemble(payload(), manifest=duplicate, signers=[ALICE]),
            "E_MANIFEST_NOT_CANONICAL", "damaged")


def test_signed_bundle_failing_its_own_regression_cases(registry):
    p = dict(payload())
    p["regression_cases.csv"] = p["regression_cases.csv"].replace(b",1e-12,golden",
                                                                  b",1e-12,golden", 1)
    lines = p["regression_cases.csv"].decode().splitlines()
    cells = lines[1].split(",")
    cells[4] = "0.123"  # expected_proba_0 of the first case, far from the truth
    lines[1] = ",".join(cells)
    p["regression_cases.csv"] = ("\n".join(lines) + "\n").encode()
    error = refused(registry, assemble(p, signers=[ALICE]), "E_REGRESSION_CASES_FAILED",
                    "damaged")
    assert "row 1" in error.message


def test_verify_reports_without_changing_anything(registry):
    before = snapshot(registry.ws.root)
    bundle = registry.verify(good(), now=NOW)
    assert bundle.label == "test-model@1" and bundle.signers == (ALICE.keyid,)
    assert snapshot(registry.ws.root) == before


def test_rollback_state_survives_deletion(registry):
    registry.import_bundle(good(2), now=NOW)
    registry.ws.rollback_state.unlink()
    refused(registry, good(1, seed=1), "E_VERSION_ROLLBACK", "conflict")  # rebuilt in memory
    registry.import_bundle(good(3, seed=2), now=NOW)
    assert json.loads(registry.ws.rollback_state.read_bytes())["models"]["test-model"][
        "version"] == 3


def test_rollback_state_is_never_half_written(registry, monkeypatch):
    import engine.ground.fileio as fileio

    registry.import_bundle(good(1), now=NOW)
    before = registry.ws.rollback_state.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk unplugged")

    monkeypatch.setattr(fileio.os, "replace", crash)
    with pytest.raises(OSError):
        registry.import_bundle(good(2, seed=1), now=NOW)
    assert registry.ws.rollback_state.read_bytes() == before
    assert not list(registry.ws.root.glob(".rollback-state.json.*"))  # no temp left behind
    monkeypatch.undo()
    assert registry.import_bundle(good(2, seed=1), now=NOW)[2] == "installed"
    assert json.loads(registry.ws.rollback_state.read_bytes())["models"]["test-model"][
        "version"] == 2


def test_single_byte_flips_are_never_accepted(registry):
    data = good()
    accepted = []
    for pos in range(len(data)):  # every byte of the file
        flipped = bytearray(data)
        flipped[pos] ^= 0x20
        try:
            registry.verify(bytes(flipped), now=NOW)
        except BundleRejected:
            continue
        accepted.append(pos)
    assert accepted == [], f"altered bundles accepted at byte positions {accepted[:10]}"


def test_manifest_of_installed_bundle_is_the_verified_bytes(registry):
    data = good()
    registry.import_bundle(data, now=NOW)
    assert registry.ws.bundle_path("test-model", 1).read_bytes() == data
    assert MANIFEST  # the manifest is read from exactly these bytes on every load


def test_repacked_or_wrapped_archives_are_refused(registry, tmp_path):
    from engine.bundle.ziparchive import read_members, write_members
    from engine.registry.registry import read_bundle_file

    data = good()
    members = list(read_members(data).items())
    refused(registry, write_members(members, deflate=True), "E_ZIP_NOT_CANONICAL", "damaged")
    refused(registry, data + b"junk", "E_ZIP_TRAILING_DATA", "damaged")
    refused(registry, b"MZ" + data, "E_ZIP_LEADING_DATA", "damaged")
    refused(registry, data[: len(data) // 2], {"E_ZIP_TRUNCATED", "E_ZIP_NOT_A_ZIP"}, "damaged")
    refused(registry, b"", "E_ZIP_NOT_A_ZIP", "damaged")
    big = tmp_path / "huge.ratchet"
    with big.open("wb") as fh:  # sparse: no real disk use
        fh.truncate(300 * 2**20)
    with pytest.raises(BundleRejected) as info:
        read_bundle_file(big)
    assert info.value.code == "E_BUNDLE_TOO_LARGE"


def test_stale_rollback_state_cannot_let_a_conflict_in(registry):
    registry.import_bundle(good(2), now=NOW)
    stale = registry.ws.rollback_state.read_bytes()
    registry.import_bundle(good(3, seed=1), now=NOW)
    registry.ws.rollback_state.write_bytes(stale)  # another process saved an older state
    refused(registry, good(3, seed=2), "E_VERSION_CONFLICT", "conflict")
    refused(registry, good(2, seed=2), "E_VERSION_ROLLBACK", "conflict")


def test_reimporting_an_installed_older_version_is_a_noop(registry):
    registry.import_bundle(good(1), now=NOW)
    registry.import_bundle(good(2, seed=1), now=NOW)
    before = snapshot(registry.ws.root)
    assert registry.import_bundle(good(1), now=NOW) == ("test-model", 1, "already-installed")
    assert snapshot(registry.ws.root) == before


def test_hostile_signature_json_is_a_clean_refusal(registry):
    manifest = Manifest.for_members("test-model", 1, NOW - dt.timedelta(days=1),
                                    NOW + dt.timedelta(days=30), payload()).to_bytes()
    for signature in (b'{"payloadType": ' + b"9" * 5000 + b"}", b"[" * 20000 + b"]" * 20000,
                      b" " * 20000):
        refused(registry, assemble(payload(), manifest=manifest, signature=signature),
                "E_SIGNATURE_INVALID", "damaged")
