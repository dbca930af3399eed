"""quality_rules.json as a bundle member: `ratchet bundle build --quality-rules` signs it in,
`bundle verify` and `models import` check it against the model, `ratchet nowtest` then checks
every file against it (exit 1 on an alarm rule, the rules in --json, in the stored record and
in the alarms); a bundle without it loads as before. And `ratchet export` writes a starting
point beside the coefficients from the training sample (the flights sample)."""

from __future__ import annotations

import json

import joblib
import numpy as np
import pandas as pd
import pytest

from engine.bundle.build import build_bundle
from engine.bundle.manifest import Manifest
from engine.bundle.signing import sign_manifest
from engine.bundle.ziparchive import read_members, write_members
from engine.errors import EngineError
from engine.ground.shipped import shipped_dir
from engine.model import load_coefficients
from engine.nowtest.run import run_nowtest
from tests.engine.bundle_kit import ALICE, FEATURES, payload_for
from tests.engine.workspace_kit import DEMO_BUNDLE, DEMO_LABEL, in_process

RULES = {"format": "ratchet-quality-rules/1", "rules": [
    {"rule": "min_rows", "min": 10, "severity": "warn"},
    {"rule": "max_missing", "column": "x0", "max": 0.1, "severity": "alarm"},
    {"rule": "range", "column": "x2", "min": -10, "max": 10, "severity": "warn"}]}


def _keyfile(tmp_path):
    from cryptography.hazmat.primitives import serialization

    path = tmp_path / "alice.key"
    path.write_bytes(ALICE.key.private_bytes(serialization.Encoding.PEM,
                                             serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
    return path


def _publisher_files(tmp_path, rules: dict | None = RULES):
    files = {}
    for name, data in payload_for("test-model").items():
        files[name] = tmp_path / name
        files[name].write_bytes(data)
    if rules is not None:
        files["quality_rules.json"] = tmp_path / "quality_rules.json"
        files["quality_rules.json"].write_text(json.dumps(rules, indent=1))
    return files


def _build(tmp_path, capsys, files, out="model.ratchet"):
    args = ["bundle", "build", "--coefficients", str(files["coefficients.json"]),
            "--requirements", str(files["requirements.json"]),
            "--cases", str(files["regression_cases.csv"]), "--version", "1",
            "--key", str(_keyfile(tmp_path)), "-o", str(tmp_path / out)]
    if "quality_rules.json" in files:
        args[-2:-2] = ["--quality-rules", str(files["quality_rules.json"])]
    return in_process(tmp_path / "ws", capsys, *args)


def test_a_bundle_with_rules_is_built_verified_installed_and_checked(alice_ws, tmp_path,
                                                                    capsys):
    files = _publisher_files(tmp_path)
    code, _, err = _build(tmp_path, capsys, files)
    assert code == 0, err
    bundle = tmp_path / "model.ratchet"
    members = read_members(bundle.read_bytes())
    assert members["quality_rules.json"] == files["quality_rules.json"].read_bytes()
    assert "quality_rules.json" in json.loads(members["manifest.json"])["members"]
    root = alice_ws.root
    code, out, err = in_process(root, capsys, "--json", "bundle", "verify", str(bundle))
    assert code == 0 and json.loads(out)["status"] == "verified", err
    code, out, err = in_process(root, capsys, "--json", "models", "import", str(bundle))
    assert code == 0, err
    rng = np.random.default_rng(5)
    feed = pd.DataFrame(rng.normal(size=(20, 3)), columns=FEATURES)
    feed = feed.astype(object)
    feed.loc[14:, "x0"] = ""  # data rows 15-20: 6 of 20 (30%) missing
    feed.loc[2, "x2"] = 99.0  # data row 3
    path = tmp_path / "feed.csv"
    feed.to_csv(path, index=False)
    code, out, err = in_process(root, capsys, "--json", "nowtest", str(path))
    assert code == 1, err
    doc = json.loads(out)
    quality = {q["name"]: q for q in doc["quality"]}
    assert quality["max_missing(x0)"]["first_rows"] == [[r, ""] for r in range(15, 21)]
    assert quality["range(x2)"]["first_rows"] == [[3, "99.0"]]
    assert quality["min_rows"]["passed"]
    assert [(r["kind"], r["subject"]) for r in doc["reasons"] if r["kind"] == "quality"] == \
        [("quality", "max_missing(x0)")]
    from engine.alarms.store import list_alarms
    from engine.nowtest.store import list_nowtests
    from engine.registry.registry import Registry

    with Registry.open(root) as registry:
        stored = list_nowtests(registry.db)[0]["result"]
        alarms = list_alarms(registry.db)
    assert stored["quality"] == doc["quality"]
    assert [(a.kind, a.subject) for a in alarms if a.kind == "quality"] == \
        [("quality", "max_missing(x0)")]


def test_a_bundle_without_rules_still_builds_and_loads(alice_ws, tmp_path, capsys):
    files = _publisher_files(tmp_path, rules=None)
    assert _build(tmp_path, capsys, files)[0] == 0
    members = read_members((tmp_path / "model.ratchet").read_bytes())
    assert "quality_rules.json" not in members
    code, _, err = in_process(alice_ws.root, capsys, "models", "import",
                              str(tmp_path / "model.ratchet"))
    assert code == 0, err


def test_rules_that_do_not_fit_the_model_are_refused_at_build_and_at_import(alice_ws, tmp_path,
                                                                           capsys):
    bad = {**RULES, "rules": [{"rule": "range", "column": "x9", "max": 1, "severity": "warn"}]}
    files = _publisher_files(tmp_path, bad)
    code, _, err = _build(tmp_path, capsys, files)
    assert code == 2 and "E_QUALITY_RULES_INVALID" in err and "'x9'" in err
    assert not (tmp_path / "model.ratchet").exists()
    # signed by a trusted key all the same: the workstation refuses it too
    payload = {**payload_for("test-model"), "quality_rules.json": json.dumps(bad).encode()}
    with pytest.raises(EngineError):
        build_bundle(payload, 1, [ALICE.key])
    import datetime as dt

    created = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)
    manifest = Manifest.for_members("test-model", 1, created, created + dt.timedelta(days=30),
                                    payload).to_bytes()
    data = write_members([("manifest.json", manifest),
                          ("signature.json", sign_manifest(manifest, [ALICE.key])),
                          *payload.items()], deflate=False)
    (tmp_path / "forced.ratchet").write_bytes(data)
    code, out, err = in_process(alice_ws.root, capsys, "--json", "models", "import",
                                str(tmp_path / "forced.ratchet"))
    assert code == 2 and json.loads(out)["error"] == "E_QUALITY_RULES_INVALID"


FEATURES_FLIGHTS = ["dep_time", "sched_dep_time", "dep_delay", "sched_arr_time", "distance",
                    "hour", "carrier", "origin", "dest"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """`ratchet export` of a small model trained on the shipped July flights sample."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    from engine.cli import main

    folder = tmp_path_factory.mktemp("export")
    df = pd.read_csv(shipped_dir("resources") / "samples" / "flights-2013-07-sample.csv")
    df = df[df["arr_delay"].notna()]
    df = df.assign(late=(df["arr_delay"] > 15).astype(int))[[*FEATURES_FLIGHTS, "late"]]
    df.to_csv(folder / "train.csv", index=False)
    numeric = FEATURES_FLIGHTS[:6]
    pre = ColumnTransformer([("num", "passthrough", numeric),
                             ("cat", OrdinalEncoder(handle_unknown="use_encoded_value",
                                                    unknown_value=-1), FEATURES_FLIGHTS[6:])])
    model = make_pipeline(pre, HistGradientBoostingClassifier(max_iter=10, random_state=0))
    joblib.dump(model.fit(df[FEATURES_FLIGHTS], df["late"]), folder / "model.joblib")
    code = main(["export", str(folder / "model.joblib"), "--sample", str(folder / "train.csv"),
                 "--target", "late", "--model-id", "flights-test", "-o",
                 str(folder / "coefficients.json")])
    assert code == 0
    return folder, df


def test_export_writes_sensible_starting_rules_for_the_flights_sample(exported):
    folder, df = exported
    doc = json.loads((folder / "quality_rules.json").read_text())
    assert doc["format"] == "ratchet-quality-rules/1"
    assert doc["generated"]["sample_rows"] == len(df)
    rules = {(r["rule"], r.get("column")): r for r in doc["rules"]}
    assert rules[("min_rows", None)] == {"rule": "min_rows", "min": 100, "severity": "warn"}
    for name in FEATURES_FLIGHTS:
        share = df[name].isna().mean()
        allowed = rules[("max_missing", name)]["max"]
        assert share + 0.05 <= allowed < share + 0.0511 and rules[("max_missing", name)][
            "severity"] == "alarm"
    delay = rules[("range", "dep_delay")]
    low, high = df["dep_delay"].min(), df["dep_delay"].max()
    span = high - low
    assert delay["min"] == pytest.approx(low - 0.1 * span, rel=1e-5)
    assert delay["max"] == pytest.approx(high + 0.1 * span, rel=1e-5)
    assert rules[("categories", "carrier")]["allowed"] == sorted(df["carrier"].unique())
    assert rules[("categories", "origin")]["allowed"] == ["EWR", "JFK", "LGA"]
    assert ("range", "carrier") not in rules and ("categories", "distance") not in rules
    # they fit the exported model, and August's clean month raises no alarm from them
    from engine.formats.quality_rules import check_quality_rules

    model = load_coefficients((folder / "coefficients.json").read_bytes())
    check_quality_rules((folder / "quality_rules.json").read_bytes(), model.features)
    members = read_members(DEMO_BUNDLE.read_bytes())
    demo = load_coefficients(members["coefficients.json"])
    members = {**members, "quality_rules.json": (folder / "quality_rules.json").read_bytes()}
    month = shipped_dir("resources") / "samples" / "demo-flights-2013-08.csv"
    result = run_nowtest(month, demo, DEMO_LABEL, members, [])
    assert len(result.quality) == len(doc["rules"])
    assert not [r for r in result.reasons if r.kind == "quality"]


def test_export_keeps_the_publishers_edited_rules(exported, tmp_path, capsys):
    import shutil

    from engine.cli import main

    for name in ("model.joblib", "train.csv", "quality_rules.json"):
        shutil.copy(exported[0] / name, tmp_path / name)
    folder = tmp_path
    edited = folder / "quality_rules.json"
    edited.write_text(edited.read_text().replace('"min": 100', '"min": 2500'))
    before = edited.read_bytes()
    code = main(["--json", "export", str(folder / "model.joblib"), "--sample",
                 str(folder / "train.csv"), "--target", "late", "--model-id", "flights-test",
                 "-o", str(folder / "coefficients.json")])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["quality_rules_kept"] is True and out["quality_rules"] == str(edited)
    assert edited.read_bytes() == before
