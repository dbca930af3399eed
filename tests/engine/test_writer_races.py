"""Every pair of writers of requirements, trials and the rollback state, raced deterministically:
writer B runs at the exact step inside writer A where today's reads are done and A's write
transaction has not begun (the hook engine.regression.ratchet.race_window), and the outcome must
be as if they had run one after the other: no bound lowered without an override, no step lost
or recorded twice, no trial closed twice, no version activated over one activated meanwhile."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from engine.cli import main
from engine.errors import EngineError
from engine.registry.registry import Registry
from engine.regression import ratchet
from engine.regression.ratchet import effective_requirements, steps
from engine.trial.store import insert_trial
from tests.engine.bundle_kit import ALICE, NOW, assemble, payload_for
from tests.engine.test_regress import with_reference

MODEL = "test-model"
GATE_AUC = 0.705  # what the synthetic gate measured for the challenger: it proposes 0.70



def install(alice_ws, version: int, seed: int, activate: bool = True) -> None:
    reg = Registry(alice_ws)
    try:
        payload = with_reference(payload_for(MODEL, seed=seed), minimum=0.6)
        reg.import_bundle(assemble(payload, version=version, signers=[ALICE]), now=NOW,
                          activate=activate)
    finally:
        reg.close()


def bound(alice_ws, metric: str = "roc_auc", version: int | None = None) -> float:
    """The bound in force for `metric` (overall) of `version` (default: the active one)."""
    reg = Registry(alice_ws)
    try:
        label = f"{MODEL}@{version or reg.active_version(MODEL)}"
        data = reg.bundle_members(label)["requirements.json"]
        return next(r.bound for r in effective_requirements(reg.db, MODEL, data)
                    if r.metric == metric and r.applies == "overall")
    finally:
        reg.close()


def history(alice_ws) -> list[dict]:
    reg = Registry(alice_ws)
    try:
        return steps(reg.db, MODEL)
    finally:
        reg.close()


def cli(alice_ws, capsys, *args: str) -> tuple[int, dict]:
    code = main(["--workspace", str(alice_ws.root), "--json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def race(monkeypatch, writer: str, competitor) -> list[str]:
    """Run `competitor()` once, in the window of the first writer named `writer`; returns the
    writers that passed the window (the competitor's own pass included)."""
    seen: list[str] = []

    def window(name: str, model_id: str) -> None:
        seen.append(name)
        if name == writer and len([s for s in seen if s == writer]) == 1:
            competitor()
    monkeypatch.setattr(ratchet, "race_window", window)
    return seen


@pytest.fixture
def one(alice_ws):
    install(alice_ws, 1, 0)
    return alice_ws


def dry_run(alice_ws, capsys) -> dict:
    code, doc = cli(alice_ws, capsys, "requirements", "ratchet", "--why", "look", "--dry-run")
    assert code == 0
    return {p["metric"]: p for p in doc["proposals"]}


# -- ratchet and requirements set -------------------------------------------------------------
def test_a_bound_set_by_hand_during_a_ratchet_is_not_lowered(one, capsys, monkeypatch):
    proposed = dry_run(one, capsys)["roc_auc"]["min"]
    by_hand = round(proposed + 0.004, 3)  # the report: set 0.946 while the ratchet had 0.942
    b = {}

    def set_by_hand():
        b["code"], b["doc"] = cli(one, capsys, "requirements", "set", "roc_auc", str(by_hand),
                                  "--why", "hand")
    race(monkeypatch, "requirements ratchet", set_by_hand)
    code, doc = cli(one, capsys, "requirements", "ratchet", "--why", "nightly")
    assert b["code"] == 0 and code == 0
    assert bound(one) == by_hand  # not the ratchet's lower proposal
    assert [d["metric"] for d in doc["dropped"]] == ["roc_auc"]
    assert doc["dropped"][0]["in_force"] == by_hand and doc["dropped"][0]["min"] == proposed
    assert [p["metric"] for p in doc["proposals"]] == ["log_loss"] and doc["applied"] == 1
    recorded = [(s["metric"], s["old"], s["new"], s["why"]) for s in history(one)]
    assert recorded[0] == ("roc_auc", 0.6, by_hand, "hand")  # B's step is kept ...
    assert [r[0] for r in recorded] == ["roc_auc", "log_loss"]  # ... and A's other one too


def test_a_ratchet_during_a_hand_set_makes_a_lower_value_a_refusal(one, capsys, monkeypatch):
    proposed = dry_run(one, capsys)["roc_auc"]["min"]
    lower = round(proposed - 0.01, 3)
    assert lower > 0.6  # a raise when the operator looked

    def ratchet_now():
        assert cli(one, capsys, "requirements", "ratchet", "--why", "nightly")[0] == 0
    race(monkeypatch, "requirements set", ratchet_now)
    code, doc = cli(one, capsys, "requirements", "set", "roc_auc", str(lower), "--why", "hand")
    assert code == 2 and doc["error"] == "E_RATCHET_LOWER"
    assert f"raised it to {proposed:g}" in doc["message"] and "--override" in doc["message"]
    assert bound(one) == proposed
    assert [(s["metric"], s["why"]) for s in history(one)] == [("roc_auc", "nightly"),
                                                               ("log_loss", "nightly")]


def test_a_higher_hand_set_after_a_ratchet_records_the_bound_it_replaced(one, capsys,
                                                                         monkeypatch):
    proposed = dry_run(one, capsys)["roc_auc"]["min"]
    higher = round(proposed + 0.01, 3)

    def ratchet_now():
        assert cli(one, capsys, "requirements", "ratchet", "--why", "nightly")[0] == 0
    race(monkeypatch, "requirements set", ratchet_now)
    code, doc = cli(one, capsys, "requirements", "set", "roc_auc", str(higher), "--why", "hand")
    assert code == 0 and doc["was"] == proposed
    assert bound(one) == higher
    assert [(s["old"], s["new"]) for s in history(one) if s["metric"] == "roc_auc"] == [
        (0.6, proposed), (proposed, higher)]


def test_two_ratchets_at_once_record_each_step_once(one, capsys, monkeypatch):
    proposed = dry_run(one, capsys)
    b = {}

    def other_ratchet():
        b["code"], b["doc"] = cli(one, capsys, "requirements", "ratchet", "--why", "cron")
    race(monkeypatch, "requirements ratchet", other_ratchet)
    code, doc = cli(one, capsys, "requirements", "ratchet", "--why", "nightly")
    assert code == 0 and b["code"] == 0 and b["doc"]["applied"] == 2
    assert doc["applied"] == 0 and sorted(d["metric"] for d in doc["dropped"]) == [
        "log_loss", "roc_auc"]
    assert [(s["metric"], s["new"], s["why"]) for s in history(one)] == [
        ("roc_auc", proposed["roc_auc"]["min"], "cron"),
        ("log_loss", proposed["log_loss"]["max"], "cron")]


@pytest.mark.parametrize("override", [False, True])
def test_two_hand_sets_at_once_are_as_if_one_after_the_other(one, capsys, monkeypatch,
                                                             override):
    def other_set():
        assert cli(one, capsys, "requirements", "set", "roc_auc", "0.75", "--why", "B")[0] == 0
    race(monkeypatch, "requirements set", other_set)
    code, doc = cli(one, capsys, "requirements", "set", "roc_auc", "0.7", "--why", "A",
                    *(["--override"] if override else []))
    if override:  # an override lowers, on the record, from the bound it really replaced
        assert code == 0 and doc["was"] == 0.75 and bound(one) == 0.7
        assert [(s["old"], s["new"], s["override"]) for s in history(one)] == [
            (0.6, 0.75, 0), (0.75, 0.7, 1)]
    else:
        assert code == 2 and doc["error"] == "E_RATCHET_LOWER" and bound(one) == 0.75
        assert [(s["old"], s["new"]) for s in history(one)] == [(0.6, 0.75)]


# -- trials -----------------------------------------------------------------------------------
@pytest.fixture
def trial(alice_ws):
    """test-model@1 active, @2 installed beside it, and a running trial of @2 (due) whose
    accepting gate measured roc_auc GATE_AUC on the reference sample."""
    install(alice_ws, 1, 0)
    install(alice_ws, 2, 1, activate=False)
    reg = Registry(alice_ws)
    try:
        gate = {"candidate": f"{MODEL}@2", "champion": f"{MODEL}@1", "verdict": "accept",
                "reasons": [], "suite": {"requirements": [
                    {"metric": "roc_auc", "value": GATE_AUC},
                    {"metric": "log_loss", "value": 0.5}]},
                "backtest": {"partitions": []}, "nowtest": None}
        with reg.db:
            gate_id = reg.db.execute(
                "INSERT INTO gate_runs (candidate, champion, bundle_sha256, corpus, time_column, "
                "by, verdict, result_json, at, user) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (f"{MODEL}@2", f"{MODEL}@1", reg.bundle_sha256(f"{MODEL}@2"), "c", "t", "month",
                 "accept", json.dumps(gate), "now", "me")).lastrowid
        insert_trial(reg.db, MODEL, f"{MODEL}@1", f"{MODEL}@2", reg.bundle_sha256(f"{MODEL}@2"),
                     gate_id, None, None)
    finally:
        reg.close()
    return alice_ws


def accept(alice_ws, **kw):
    from engine.trial.trial import accept_trial

    reg = Registry(alice_ws)
    try:
        return accept_trial(reg, MODEL, **kw)
    finally:
        reg.close()


def reject(alice_ws, reason: str = "not better"):
    from engine.trial.trial import reject_trial

    reg = Registry(alice_ws)
    try:
        return reject_trial(reg, reason, MODEL)
    finally:
        reg.close()


def trials(alice_ws) -> list[tuple]:
    reg = Registry(alice_ws)
    try:
        return [(r["status"], r["reason"]) for r in reg.db.execute(
            "SELECT status, reason FROM trials ORDER BY id")]
    finally:
        reg.close()


def active(alice_ws) -> int | None:
    reg = Registry(alice_ws)
    try:
        return reg.active_version(MODEL)
    finally:
        reg.close()


def test_the_acceptance_alone_ratchets_from_the_gate(trial):
    outcome = accept(trial)
    assert outcome.accepted and active(trial) == 2
    assert (outcome.steps[0].metric, outcome.steps[0].current, outcome.steps[0].proposed) == (
        "roc_auc", 0.6, 0.7)
    assert bound(trial) == 0.7


def test_a_ratchet_during_a_trial_acceptance_is_not_lowered(trial, capsys, monkeypatch):
    b = {}

    def ratchet_now():
        b["code"], b["doc"] = cli(trial, capsys, "requirements", "ratchet", "--why", "nightly")
    race(monkeypatch, "trial accept", ratchet_now)
    outcome = accept(trial)
    raised = next(p["min"] for p in b["doc"]["proposals"] if p["metric"] == "roc_auc")
    assert b["code"] == 0 and raised > 0.7  # the champion measured above the gate's 0.705
    assert outcome.accepted and active(trial) == 2
    assert bound(trial) == raised  # not the acceptance's 0.70
    assert not [p for p in outcome.steps if p.metric == "roc_auc"]  # judged on 0.7x: none
    assert [(s["metric"], s["why"]) for s in history(trial)][:2] == [
        ("roc_auc", "nightly"), ("log_loss", "nightly")]


def test_a_rejection_during_an_acceptance_closes_the_trial_once(trial, monkeypatch):
    race(monkeypatch, "trial accept", lambda: reject(trial, "B rejects"))
    with pytest.raises(EngineError) as info:
        accept(trial)
    assert info.value.code == "E_TRIAL_CLOSED" and "rejected" in info.value.message
    assert trials(trial) == [("rejected", "B rejects")]
    assert active(trial) == 1 and history(trial) == []


def test_an_acceptance_during_a_rejection_closes_the_trial_once(trial, monkeypatch):
    race(monkeypatch, "trial reject", lambda: accept(trial))
    with pytest.raises(EngineError) as info:
        reject(trial, "A rejects")
    assert info.value.code == "E_TRIAL_CLOSED" and "accepted" in info.value.message
    assert [s for s, _ in trials(trial)] == ["accepted"]
    assert active(trial) == 2


def test_an_activation_during_an_acceptance_is_not_undone_by_it(trial, monkeypatch):
    race(monkeypatch, "trial accept", lambda: install(trial, 3, 2))  # import and activate @3
    with pytest.raises(EngineError) as info:
        accept(trial)
    assert info.value.code == "E_TRIAL_STALE" and f"{MODEL}@3" in info.value.message
    assert active(trial) == 3 and trials(trial)[0][0] == "running" and history(trial) == []


def test_a_rollback_during_a_ratchet_leaves_no_step_measured_on_the_version_gone(
        trial, capsys, monkeypatch):
    assert accept(trial).accepted and active(trial) == 2
    assert bound(trial) == 0.7  # the acceptance's step
    before = len(history(trial))

    def rollback():
        assert cli(trial, capsys, "models", "rollback", MODEL)[0] == 0
    race(monkeypatch, "requirements ratchet", rollback)
    code, doc = cli(trial, capsys, "requirements", "ratchet", "--why", "nightly")
    assert code == 2 and doc["error"] == "E_RATCHET_STALE"
    assert f"{MODEL}@2" in doc["message"] and f"{MODEL}@1" in doc["message"]
    assert active(trial) == 1 and bound(trial) == 0.6  # @1's own bound, as a rollback restores
    since = history(trial)[before:]
    assert since and all(s["why"].startswith("rollback from") for s in since)  # undo steps


def test_an_activation_while_a_trial_starts_refuses_the_trial(trial, monkeypatch):
    from engine.trial import trial as trial_module

    reg = Registry(trial)
    try:
        reject(trial)  # the fixture's trial: out of the way
        gate = SimpleNamespace(accepted=True, champion=f"{MODEL}@1", candidate=f"{MODEL}@2",
                               id=1)
        monkeypatch.setattr(trial_module, "gate_candidate", lambda *a, **k: gate)
        race(monkeypatch, "trial start", lambda: install(trial, 3, 2))
        with pytest.raises(EngineError) as info:
            trial_module.start_trial(reg, f"{MODEL}@2", "corpus", "t")
    finally:
        reg.close()
    assert info.value.code == "E_TRIAL_STALE" and f"{MODEL}@3" in info.value.message
    assert [s for s, _ in trials(trial)] == ["rejected"] and active(trial) == 3


def test_an_acceptance_during_a_ratchet_leaves_no_step_measured_on_the_old_champion(
        trial, capsys, monkeypatch):
    race(monkeypatch, "requirements ratchet", lambda: accept(trial))
    code, doc = cli(trial, capsys, "requirements", "ratchet", "--why", "nightly")
    assert code == 2 and doc["error"] == "E_RATCHET_STALE"
    assert active(trial) == 2 and bound(trial) == 0.7  # the acceptance's step stands
    assert not [s for s in history(trial) if s["why"] == "nightly"]


def test_proposals_applied_later_without_the_bundle_are_rejudged_too(one, capsys):
    """The app proposes, the operator reviews, then applies (apply_steps without the bundle's
    requirements): a bound raised by hand in between is still not written down over."""
    from engine.regression.ratchet import Proposal, apply_steps

    stale = [Proposal("roc_auc", "min", 0.6, 0.8, 0.81), Proposal("log_loss", "max", 5.0, 0.9,
                                                                   0.5)]
    assert cli(one, capsys, "requirements", "set", "roc_auc", "0.85", "--why", "hand")[0] == 0
    reg = Registry(one)
    try:
        assert apply_steps(reg.db, MODEL, stale, "reviewed proposal") == 1
    finally:
        reg.close()
    assert bound(one) == 0.85 and bound(one, "log_loss") == 0.9
    assert [(s["metric"], s["old"], s["new"]) for s in history(one)] == [
        ("roc_auc", 0.6, 0.85), ("log_loss", 5.0, 0.9)]
