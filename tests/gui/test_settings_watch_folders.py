"""The Settings page's watch-folder table with the real jobs and settings file: a folder added
with a model is saved and shown again, removed is gone, a folder that does not exist is
refused by the field's label with nothing saved, the one-folder setting shows as a row; and the
app's watcher now-tests each folder's files with that folder's model."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from engine.ground.settings import load_settings, set_setting, settings_path
from gui.pages.settings_page import SettingsPage
from gui.pages.watch_folders import BY_HEADER
from gui.watching import FolderWatch
from tests.engine import models_kit as kit
from tests.engine.workspace_kit import DEMO_ID, DEMO_LABEL
from tests.gui.kit import TIMEOUT_MS

SENSORS_ID = "test-sensors"


@pytest.fixture
def two_models(workspace):
    kit.add_sensors(workspace)  # beside the demo model
    return workspace


def open_page(ctx, qtbot) -> SettingsPage:
    page = SettingsPage(ctx)
    qtbot.addWidget(page)
    page.show()
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT_MS):
        page.refresh()
    return page


def save(page, qtbot) -> set:
    with qtbot.waitSignal(page.saved, timeout=TIMEOUT_MS) as saved:
        qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    return saved.args[0]


def combo_texts(page, row: int) -> tuple[str, list[str]]:
    combo = page.watch_folders.table.cellWidget(row, 1)
    return combo.currentText(), [combo.itemText(i) for i in range(combo.count())]


def test_a_folder_added_with_a_model_is_saved_shown_again_and_removed(
        two_models, ctx, qtbot, tmp_path, monkeypatch):
    flights, sensors = tmp_path / "flights", tmp_path / "sensors"
    flights.mkdir()
    sensors.mkdir()
    page = open_page(ctx, qtbot)
    assert page.watch_folders.table.rowCount() == 0
    assert not page.watch_folders.remove_button.isEnabled()  # nothing selected
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: str(flights)))
    qtbot.mouseClick(page.watch_folders.add_button, Qt.MouseButton.LeftButton)
    current, choices = combo_texts(page, 0)
    assert current == BY_HEADER and choices == [BY_HEADER, DEMO_ID, SENSORS_ID]
    page.watch_folders.set_model(0, DEMO_ID)
    page.watch_folders.add_folder(str(sensors), SENSORS_ID)

    assert save(page, qtbot) == {"watch.folders"}
    assert page.message.text() == "Saved: Watch folders."  # the label, not the key
    assert load_settings(ctx.workspace)["watch.folders"] == [
        {"folder": str(flights.resolve()), "model": DEMO_ID},
        {"folder": str(sensors.resolve()), "model": SENSORS_ID}]

    again = open_page(ctx, qtbot)  # a fresh page shows what is stored
    assert [combo_texts(again, r)[0] for r in range(2)] == [DEMO_ID, SENSORS_ID]
    assert again.watch_folders.bindings()[1]["folder"] == str(sensors.resolve())
    assert again.changes() == {}
    again.watch_folders.table.selectRow(0)
    assert again.watch_folders.remove_button.isEnabled()
    qtbot.mouseClick(again.watch_folders.remove_button, Qt.MouseButton.LeftButton)
    save(again, qtbot)
    assert load_settings(ctx.workspace)["watch.folders"] == [
        {"folder": str(sensors.resolve()), "model": SENSORS_ID}]


def test_a_folder_that_does_not_exist_is_refused_by_label_and_nothing_saved(
        two_models, ctx, qtbot, tmp_path, shown_errors):
    set_setting(ctx.workspace, "smtp.host", "mail.example.org")
    before = settings_path(ctx.workspace).read_bytes()
    page = open_page(ctx, qtbot)
    page.watch_folders.add_folder(str(tmp_path / "nowhere"), DEMO_ID)
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(shown_errors) > 0, timeout=TIMEOUT_MS)
    message = shown_errors[0].message
    assert "the field “Watch folders” cannot be that list" in message
    assert "does not exist" in message and "watch.folders" not in message
    assert "Not saved: nothing was changed" in page.message.text()
    assert settings_path(ctx.workspace).read_bytes() == before
    # put right (the row removed), the "Not saved…" goes at once
    page.watch_folders.table.selectRow(0)
    page.watch_folders.remove_selected()
    assert page.message.text() == ""


def test_the_one_folder_setting_shows_as_a_row_and_is_taken_into_the_table(
        two_models, ctx, qtbot, tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    set_setting(ctx.workspace, "watch.folder", str(old))
    page = open_page(ctx, qtbot)
    assert page.watch_folders.bindings() == [{"folder": str(old.resolve()), "model": None}]
    page.watch_folders.set_model(0, SENSORS_ID)
    assert save(page, qtbot) == {"watch.folders", "watch.folder"}
    assert page.message.text() == "Saved: Watch folders."
    stored = load_settings(ctx.workspace)
    assert stored["watch.folder"] == ""
    assert stored["watch.folders"] == [{"folder": str(old.resolve()), "model": SENSORS_ID}]


def test_the_app_watcher_now_tests_each_folder_with_its_model(two_models, qtbot, tmp_path):
    flights, sensors = tmp_path / "flights", tmp_path / "sensors"
    flights.mkdir()
    sensors.mkdir()
    set_setting(two_models, "watch.settle_seconds", "0")
    set_setting(two_models, "watch.folders", f"{flights}={DEMO_ID};{sensors}={SENSORS_ID}")
    watch = FolderWatch(two_models, interval=0.05)
    events = []
    watch.event.connect(events.append)
    try:
        watch.start()
        qtbot.waitUntil(lambda: watch.status.state == "running", timeout=TIMEOUT_MS)
        assert f"{flights.resolve()} (model {DEMO_ID})" in watch.status.text()
        assert f"{sensors.resolve()} (model {SENSORS_ID})" in watch.status.text()
        staging = tmp_path / "staging"  # written there, moved in whole (as a copier does)
        kit.flights(staging / "flights.csv").replace(flights / "day.csv")
        kit.write(staging / "sensors.csv", kit.SENSORS).replace(sensors / "day.csv")
        kit.flights(staging / "misplaced.csv").replace(sensors / "misplaced.csv")
        qtbot.waitUntil(lambda: len(events) == 3, timeout=TIMEOUT_MS)
    finally:
        assert watch.stop()
    by_file = {f"{Path(e.path).parent.name}/{Path(e.path).name}": e for e in events}
    assert by_file["flights/day.csv"].outcome.result.model == DEMO_LABEL
    assert by_file["sensors/day.csv"].outcome.result.model == f"{SENSORS_ID}@1"
    misplaced = by_file["sensors/misplaced.csv"]
    assert misplaced.state == "failed" and misplaced.code == "E_WATCH_WRONG_MODEL"
    assert f"bound to the model {SENSORS_ID}" in misplaced.error
    assert watch.status.processed == 2 and watch.status.failed == 1


def test_saving_the_table_restarts_the_apps_watcher_on_the_new_folders(
        two_models, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QApplication

    from gui.app import build_app

    monkeypatch.setattr(QApplication, "quit", staticmethod(lambda: None))
    app = build_app(two_models, use_tray=False, hooks=False)
    qtbot.addWidget(app.window)
    window = app.window
    window.watch.interval = 0.05
    window.show()
    page = window.settings_page
    qtbot.waitUntil(lambda: page.save_button.isEnabled(), timeout=TIMEOUT_MS)
    assert window.watch.status.state == "off"
    flights, sensors = tmp_path / "flights", tmp_path / "sensors"
    flights.mkdir()
    sensors.mkdir()
    page.watch_folders.add_folder(str(flights), DEMO_ID)
    page.watch_folders.add_folder(str(sensors), SENSORS_ID)
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)  # restarts the watcher
    qtbot.waitUntil(lambda: window.watch.status.state == "running", timeout=TIMEOUT_MS)
    assert window.watch.status.folder == (f"{flights.resolve()} (model {DEMO_ID}), "
                                          f"{sensors.resolve()} (model {SENSORS_ID})")
    assert window.close()
    assert not window.watch.running()
    app.qt.setQuitOnLastWindowClosed(True)
