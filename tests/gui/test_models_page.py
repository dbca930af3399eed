"""The Models page with its real workers: listing, a refused import, import, rollback."""

import pytest
from PySide6.QtCore import Qt

from engine.errors import BundleRejected
from engine.ground.paths import Workspace
from engine.registry.registry import Registry, read_bundle_file
from gui.errors import error_box
from gui.pages.models import ModelsPage
from tests.engine.bundle_kit import snapshot
from tests.engine.workspace_kit import DEMO_BUNDLE
from tests.gui.kit import TIMEOUT_MS, build_test_bundles


@pytest.fixture
def page(ctx, qtbot):
    widget = ModelsPage(ctx)
    qtbot.addWidget(widget)
    widget.show()
    with qtbot.waitSignal(widget.snapshot_loaded, timeout=TIMEOUT_MS):
        widget.refresh()
    return widget


def cell(table, row: int, column: str) -> str:
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    return table.item(row, headers.index(column)).text()


def test_lists_the_demo_model_with_signer_expiry_and_history(page):
    assert page.versions.rowCount() == 1
    assert cell(page.versions, 0, "Model") == "demo-flight-delay"
    assert cell(page.versions, 0, "State") == "Active"
    assert cell(page.versions, 0, "Signed by").startswith("Ratchet demo publisher (592b1b6e")
    assert cell(page.versions, 0, "Expires") == "2031-12-31"
    assert page.history_title.text() == "History of demo-flight-delay"
    assert cell(page.history, 0, "What happened") == "Installed and activated"
    assert not page.activate_button.isEnabled() and not page.rollback_button.isEnabled()


def test_a_tampered_bundle_is_refused_in_plain_words_and_nothing_changes(
        page, ctx, tmp_path, qtbot, shown_errors):
    data = bytearray(DEMO_BUNDLE.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit, in the middle of the archive
    tampered = tmp_path / DEMO_BUNDLE.name
    tampered.write_bytes(bytes(data))
    before = snapshot(ctx.workspace)

    page.import_bundle_file(tampered)  # QMessageBox.question would fail the test: never asked
    qtbot.waitUntil(lambda: bool(shown_errors), timeout=TIMEOUT_MS)
    (exc,) = shown_errors
    assert isinstance(exc, BundleRejected) and exc.category == "damaged"
    box = error_box(None, exc)
    assert "The bundle is damaged or has been altered; nothing was installed." in box.text()
    assert exc.detail in box.informativeText()
    assert f"Code: {exc.code}" in box.detailedText()
    assert page.message.text() == "Nothing was changed."
    assert snapshot(ctx.workspace) == before
    assert page.import_button.isEnabled()


def test_import_then_roll_back_then_activate_through_the_page(
        page, ctx, tmp_path, qtbot, monkeypatch, answers):
    trust, bundles, _ = build_test_bundles(tmp_path)
    monkeypatch.setenv("RATCHET_TRUST_STORE", str(trust))
    registry = Registry(Workspace.open(ctx.workspace))
    registry.import_bundle(read_bundle_file(bundles[1]))
    registry.close()

    with qtbot.waitSignal(page.changed, timeout=TIMEOUT_MS):
        page.import_bundle_file(bundles[2])
    assert answers.asked[-1].startswith(
        "Verified: test-model version 2, signed by Test publisher (")
    assert "It replaces version 1" in answers.asked[-1]
    qtbot.waitUntil(lambda: page.snapshot.active_version("test-model") == 2,
                    timeout=TIMEOUT_MS)
    assert page.selected().model_id == "test-model" and page.selected().version == 2
    assert page.rollback_button.text() == "Roll back to version 1"

    with qtbot.waitSignal(page.snapshot_loaded, timeout=TIMEOUT_MS):
        qtbot.mouseClick(page.rollback_button, Qt.MouseButton.LeftButton)
    assert answers.asked[-1].startswith("Roll back test-model from version 2 to version 1?")
    assert page.snapshot.active_version("test-model") == 1
    assert page.message.text() == "Rolled back test-model from version 2 to version 1."
    assert page.history_title.text() == "History of test-model"
    assert cell(page.history, 0, "What happened") == "Rolled back"
    assert (cell(page.history, 0, "Version"), cell(page.history, 0, "Before")) == ("1", "2")
    registry = Registry(Workspace.open(ctx.workspace))
    try:  # recorded by the engine, as the command line would see it
        assert registry.active_version("test-model") == 1
        assert registry.activations("test-model")[-1]["action"] == "rollback"
    finally:
        registry.close()

    page.versions.selectRow(next(r for r in range(page.versions.rowCount())
                                 if cell(page.versions, r, "Model") == "test-model"
                                 and cell(page.versions, r, "Version") == "2"))
    assert page.activate_button.isEnabled()
    with qtbot.waitSignal(page.snapshot_loaded, timeout=TIMEOUT_MS):
        page.activate_selected()
    assert answers.asked[-1].startswith("Activate test-model version 2 instead of version 1?")
    assert page.snapshot.active_version("test-model") == 2


def test_declining_the_verified_import_changes_nothing(
        page, ctx, tmp_path, qtbot, monkeypatch, answers):
    from PySide6.QtWidgets import QMessageBox

    trust, bundles, _ = build_test_bundles(tmp_path, versions=(1,))
    monkeypatch.setenv("RATCHET_TRUST_STORE", str(trust))
    before = snapshot(ctx.workspace)
    answers.replies.append(QMessageBox.StandardButton.No)
    page.import_bundle_file(bundles[1])
    qtbot.waitUntil(lambda: bool(answers.asked), timeout=TIMEOUT_MS)
    assert "Install and activate it?" in answers.asked[0]
    assert "was verified but not installed" in page.message.text()
    assert snapshot(ctx.workspace) == before
