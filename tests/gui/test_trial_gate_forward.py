"""The Trial page when the candidate beats the champion but both miss a bound: the verdict says
the champion misses it too with the figures, and the page offers the two recorded ways
forward: lower the bound with a reason (an override step; the gate runs again and accepts) or
accept anyway with a reason (a gate run of its own; the trial can then start)."""

from __future__ import annotations

import json

import pytest
from PySide6.QtWidgets import QInputDialog

from engine.registry.registry import Registry
from engine.regression.ratchet import Proposal, apply_steps
from tests.engine import test_trial_kit as kit
from tests.engine.test_trial_kit import BETTER, CHAMPION, MODEL_ID
from tests.gui.kit import TIMEOUT_MS
from tests.gui.test_trial_page import LEFT, choose, db_rows, run_gate
from tests.gui.test_trial_page import page as page

bundles, data, flights = kit.bundles, kit.data, kit.flights
HIGH = 0.999  # a per-month roc_auc neither model reaches


@pytest.fixture
def rejected(page, ctx, qtbot, bundles, data):
    registry = Registry.open(ctx.workspace)
    try:
        apply_steps(registry.db, MODEL_ID,
                    [Proposal("roc_auc", "min", 0.8, HIGH, HIGH, "partition")], "set too high")
    finally:
        registry.close()
    choose(page, qtbot, bundles["better"], data, latest=False)
    result = run_gate(page, qtbot)
    assert (result.verdict, result.candidate) == ("reject", BETTER)
    assert page.gate.verdict.headline.text() == "REJECT"
    assert f"The champion {CHAMPION} misses it too: roc_auc min {HIGH:g} in 4 of the 4 " \
        "months" in page.gate.verdict.checks.text()
    forward = page.gate.forward
    assert forward.isVisible() and forward.lower_button.isEnabled()
    assert f"The champion {CHAMPION} misses roc_auc min {HIGH:g} too" in forward.text.text()
    assert not page.gate.start_button.isEnabled()
    return result


def answer(monkeypatch, **answers) -> list:
    """QInputDialog answered as the operator would; the questions asked are returned."""
    asked = []

    def reply(kind):
        def ask(*args, **kwargs):
            asked.append(args[2])
            return answers[kind]
        return staticmethod(ask)
    for kind in answers:
        monkeypatch.setattr(QInputDialog, kind, reply(kind))
    return asked


def test_accept_anyway_is_recorded_and_the_trial_can_start(page, ctx, qtbot, rejected,
                                                          monkeypatch):
    asked = answer(monkeypatch, getMultiLineText=("the champion never met it either", True))
    with qtbot.waitSignal(page.gate_finished, timeout=TIMEOUT_MS) as done:
        qtbot.mouseClick(page.gate.forward.accept_button, LEFT)
    forced = done.args[0].gate
    assert f"Why accept {BETTER} although gate run {rejected.id} rejected it?" in asked[0]
    assert page.gate.verdict.headline.text() == "ACCEPTED ANYWAY"
    assert "the champion never met it either" in page.gate.verdict.title.text()
    assert not page.gate.forward.isVisible()
    assert page.gate.start_button.isEnabled()  # the trial may start from the recorded run
    rows = db_rows(ctx.workspace, "SELECT id, verdict, result_json FROM gate_runs ORDER BY id")
    assert [(r[0], r[1]) for r in rows] == [(rejected.id, "reject"), (forced.id, "accept")]
    assert json.loads(rows[1][2])["forced"]["why"] == "the champion never met it either"


def test_lowering_the_bound_records_an_override_and_gates_again(page, ctx, qtbot,
                                                                rejected, monkeypatch):
    answer(monkeypatch, getDouble=(0.8, True),
           getMultiLineText=("the champion never met 0.999", True))
    with qtbot.waitSignal(page.gate_finished, timeout=TIMEOUT_MS) as done:
        qtbot.mouseClick(page.gate.forward.lower_button, LEFT)
    assert done.args[0].gate.verdict == "accept"
    assert page.gate.verdict.headline.text() == "ACCEPT"
    assert "roc_auc lowered to 0.8" in page.gate.verdict.summary.text()
    assert page.gate.start_button.isEnabled()
    steps = db_rows(ctx.workspace, "SELECT metric, applies, old, new, override, why FROM "
                                   "requirement_steps ORDER BY id")
    assert steps[-1] == ("roc_auc", "partition", HIGH, 0.8, 1, "the champion never met 0.999")
