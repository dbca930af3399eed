"""The Requirements page with its real workers: the demo's requirements and baseline, a ratchet
proposal (never lower than today's), and applying it, recorded with its reason."""

import sqlite3

import pytest
from PySide6.QtWidgets import QInputDialog

from gui.pages.requirements import RequirementsPage
from tests.engine.workspace_kit import DEMO_LABEL
from tests.gui.kit import TIMEOUT_MS


@pytest.fixture
def page(ctx, qtbot):
    widget = RequirementsPage(ctx)
    qtbot.addWidget(widget)
    widget.show()
    with qtbot.waitSignal(widget.loaded, timeout=TIMEOUT_MS):
        widget.refresh()
    return widget


def cell(table, row: int, column: str) -> str:
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    return table.item(row, headers.index(column)).text()


def test_shows_the_demo_requirements_and_baseline(page):
    assert page.requirements.rowCount() == 1
    assert cell(page.requirements, 0, "Metric") == "roc_auc"
    assert cell(page.requirements, 0, "Requirement") == "min 0.9"
    assert cell(page.requirements, 0, "Expected mean") == "0.9286"
    assert cell(page.requirements, 0, "Applies") == "overall"
    assert DEMO_LABEL in page.baseline.text()
    assert "roc_auc 0.928622" in page.baseline.text()
    assert page.steps.rowCount() == 0
    assert not page.apply_button.isEnabled()


def test_propose_then_apply_records_a_step_with_its_reason(page, ctx, qtbot, monkeypatch):
    with qtbot.waitSignal(page.proposed, timeout=TIMEOUT_MS) as proposed:
        page.propose()  # no run yet: the suite runs (and is recorded) first
    (p,) = proposed.args[0].proposals
    assert (p.metric, p.current) == ("roc_auc", 0.9)
    assert 0.9 < p.proposed <= p.measured
    assert cell(page.proposals, 0, "Proposed") == f"min {p.proposed:g}"
    assert page.apply_button.isEnabled()
    with sqlite3.connect(ctx.workspace / "ratchet.db") as db:
        assert db.execute("SELECT count(*) FROM regression_runs").fetchone() == (1,)

    asked = []
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(
        lambda parent, title, text, *a, **k: asked.append(text) or ("accepted in review", True)))
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT_MS):
        page.apply_button.click()
    assert f"roc_auc min 0.9 → {p.proposed:g}" in asked[0]
    assert cell(page.requirements, 0, "Requirement") == f"min {p.proposed:g}"
    assert page.steps.rowCount() == 1
    assert cell(page.steps, 0, "Why") == "accepted in review"
    assert (cell(page.steps, 0, "From"), cell(page.steps, 0, "To")) == \
        ("min 0.9", f"min {p.proposed:g}")
    assert "Recorded 1 ratchet step" in page.panel.message.text()

    with qtbot.waitSignal(page.proposed, timeout=TIMEOUT_MS) as again:
        page.propose()  # the same run, the raised bound: nothing more to raise
    assert again.args[0].proposals == [] and "Nothing to raise" in page.panel.message.text()
    assert not page.apply_button.isEnabled()


def test_an_empty_reason_changes_nothing(page, ctx, qtbot, monkeypatch):
    with qtbot.waitSignal(page.proposed, timeout=TIMEOUT_MS):
        page.propose()
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("  ", True)))
    page.apply_button.click()
    assert "a reason is needed" in page.panel.message.text()
    assert page.steps.rowCount() == 0


def test_choosing_another_model_clears_the_last_models_messages(page, ctx, qtbot, tmp_path,
                                                                  monkeypatch):
    from engine.progress import CancelToken, no_progress
    from engine.registry.registry import Registry
    from engine.services import models as services_models
    from gui.tasks.models import snapshot
    from tests.gui.kit import build_test_bundles

    with qtbot.waitSignal(page.proposed, timeout=TIMEOUT_MS):
        page.propose()
    assert f"of {DEMO_LABEL}" in page.panel.message.text()
    trust, bundles, _ = build_test_bundles(tmp_path, versions=(1,))
    monkeypatch.setenv("RATCHET_TRUST_STORE", str(trust))
    with Registry.open(ctx.workspace) as registry:
        services_models.install(registry, bundles[1].read_bytes())
    page.picker.set_snapshot(snapshot(ctx.workspace, progress=no_progress,
                                      cancel=CancelToken()))
    # The new snapshot may first re-read the model already chosen: wait for the one chosen.
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT_MS,
                          check_params_cb=lambda view: view.label == "test-model@1") as loaded:
        page.picker.combo.setCurrentIndex(page.picker.combo.findData("test-model"))
    assert loaded.args[0].label == "test-model@1"
    assert page.panel.message.text() == "" and not page.panel.message.isVisible()
