"""Deactivating a model on the Models page: asked first, kept installed, recorded, never chosen
for a file afterwards, and brought back by activating a version; declining changes nothing."""

from PySide6.QtWidgets import QMessageBox

from engine.ground.paths import Workspace
from engine.registry.choice import active_models, deactivated_models
from engine.registry.registry import Registry
from tests.engine.workspace_kit import DEMO_ID, DEMO_VERSION
from tests.gui.kit import TIMEOUT_MS
from tests.gui.test_models_page import cell, page  # noqa: F401  (the page fixture)


def recorded(workspace):
    registry = Registry(Workspace.open(workspace))
    try:
        return registry.active_version(DEMO_ID), registry.activations(DEMO_ID)[-1]["action"]
    finally:
        registry.close()


def test_deactivate_then_activate_again_through_the_page(page, ctx, qtbot, answers):  # noqa: F811
    page.versions.selectRow(0)
    assert page.deactivate_button.isEnabled()
    assert page.deactivate_button.text() == f"Deactivate {DEMO_ID}"

    with qtbot.waitSignal(page.snapshot_loaded, timeout=TIMEOUT_MS):
        page.deactivate_button.click()
    assert answers.asked[-1].startswith(
        f"Deactivate {DEMO_ID} (version {DEMO_VERSION} is active)? It stays installed")
    assert page.snapshot.active_version(DEMO_ID) is None
    assert page.message.text().startswith(f"Deactivated {DEMO_ID} (version {DEMO_VERSION} was")
    assert cell(page.versions, 0, "State") == "Installed"  # kept, not removed
    assert cell(page.history, 0, "What happened") == "Deactivated"
    assert recorded(ctx.workspace) == (None, "deactivate")
    assert not page.deactivate_button.isEnabled()

    registry = Registry(Workspace.open(ctx.workspace))
    try:  # never chosen for a file while deactivated
        assert DEMO_ID not in [m.model_id for m in active_models(registry)]
        assert DEMO_ID in deactivated_models(registry)
    finally:
        registry.close()

    page.versions.selectRow(0)
    with qtbot.waitSignal(page.snapshot_loaded, timeout=TIMEOUT_MS):
        page.activate_selected()
    assert page.snapshot.active_version(DEMO_ID) == DEMO_VERSION
    assert recorded(ctx.workspace) == (DEMO_VERSION, "activate")


def test_declining_the_deactivation_changes_nothing(page, ctx, answers):  # noqa: F811
    answers.replies.append(QMessageBox.StandardButton.No)
    page.versions.selectRow(0)
    page.deactivate_selected()
    assert answers.asked[-1].startswith(f"Deactivate {DEMO_ID}")
    assert recorded(ctx.workspace) == (DEMO_VERSION, "import")
    assert page.snapshot.active_version(DEMO_ID) == DEMO_VERSION
