"""The gate when the champion misses a minimum too: the verdict says so in words with the
figures, and the two recorded ways forward work: lowering the bound with a reason (an override
step; the gate run again accepts) or accepting anyway (a gate run of its own with the reason,
from which the trial starts). Neither is offered over a candidate that does not beat the
champion."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import InputError
from engine.registry.registry import Registry
from engine.regression.ratchet import Proposal, apply_steps
from engine.services import trial as service
from engine.trial.gate import run_gate
from engine.trial.store import get_gate
from engine.trial.trial import start_trial
from tests.engine import test_trial_kit as kit
from tests.engine.test_trial_kit import BETTER, CHAMPION, MODEL_ID

bundles, data, flights = kit.bundles, kit.data, kit.flights
HIGH = 0.999  # a per-month roc_auc neither the champion nor the candidate reaches


def raised(reg) -> None:
    apply_steps(reg.db, MODEL_ID, [Proposal("roc_auc", "min", 0.85, HIGH, HIGH, "partition")],
                "a bound set too high")


def gated(reg, bundle, data):
    return run_gate(reg, bundle, data["corpus"], "time_hour")


def test_the_verdict_says_the_champion_misses_it_too_and_accepting_anyway_is_recorded(
        ws, bundles, data):
    reg = Registry(ws)
    try:
        raised(reg)
        result = gated(reg, bundles["better"], data)
        assert result.verdict == "reject"
        assert [c.name for c in result.checks if not c.passed] == ["minimums"]
        missed = result.champion_misses
        assert [(m["metric"], m["bound"], m["applies"]) for m in missed] == [
            ("roc_auc", HIGH, "partition")]
        months = missed[0]["champion_missed"]
        assert len(months) == 4 and all(v < HIGH for _, v in months)
        reason = result.reasons[0]
        month, value = months[0]
        assert (f"The champion {CHAMPION} misses it too: roc_auc min {HIGH:g} in 4 of the 4 "
                f"months ({value:.4f} in {month};") in reason
        assert "lower the bound with a reason" in reason and "accept the candidate anyway" \
            in reason

        with pytest.raises(InputError) as info:
            service.accept_anyway(reg, result.id, "  ")
        assert info.value.code == "E_REASON_REQUIRED"
        forced = service.accept_anyway(reg, result.id, "the champion never met it either")
        assert forced.id != result.id and forced.accepted
        stored = get_gate(reg.db, forced.id)
        assert stored["verdict"] == "accept"
        assert stored["forced"]["why"] == "the champion never met it either"
        assert stored["forced"]["overrides"] == result.id
        assert stored["reasons"][0].startswith("Accepted anyway by ")
        assert stored["reasons"][1] == reason  # what was set aside, in full
        assert get_gate(reg.db, result.id)["verdict"] == "reject"  # the rejection stays
        assert "ACCEPTED ANYWAY" in Path(forced.report).read_text(encoding="utf-8")
        gate, status = start_trial(reg, bundles["better"], data["corpus"], "time_hour",
                                   gate_id=forced.id)
        assert status is not None and status.challenger == BETTER and gate.id == forced.id
    finally:
        reg.close()


def test_lowering_the_bound_is_an_override_step_with_the_reason(ws, bundles, data):
    reg = Registry(ws)
    try:
        raised(reg)
        result = gated(reg, bundles["better"], data)
        assert result.verdict == "reject" and result.champion_misses
        with pytest.raises(InputError):
            service.lower_bound(reg, result, "log_loss", 0.5, "no such miss")
        service.lower_bound(reg, result, "roc_auc", 0.85, "the champion never met 0.999")
        step = reg.db.execute("SELECT * FROM requirement_steps ORDER BY id DESC").fetchone()
        assert (step["metric"], step["applies"], step["old"], step["new"], step["override"],
                step["why"]) == ("roc_auc", "partition", HIGH, 0.85, 1,
                                 "the champion never met 0.999")
        assert gated(reg, bundles["better"], data).verdict == "accept"
    finally:
        reg.close()


def test_no_way_around_a_candidate_that_does_not_beat_the_champion(ws, bundles, data):
    reg = Registry(ws)
    try:
        raised(reg)
        result = gated(reg, bundles["worse"], data)
        assert result.verdict == "reject"
        with pytest.raises(InputError) as info:
            service.accept_anyway(reg, result.id, "please")
        assert info.value.code == "E_GATE_NOT_OVERRIDABLE"
        assert "beats the champion" in str(info.value)
    finally:
        reg.close()
