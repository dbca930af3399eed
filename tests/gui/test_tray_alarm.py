"""Alarms reach the operator: one warning balloon per batch of new alarms (model, metric,
value and minimum), clicking it opens the Monitor page; without a tray the status bar says it.
The last test shows a real balloon in a real tray (Xvfb + trayer, QT_QPA_PLATFORM=xcb)."""

import os

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from gui.app import build_app
from gui.tray import Tray
from tests.engine.workspace_kit import DEMO_LABEL
from tests.gui.kit import TIMEOUT_MS
from tests.gui.test_monitor_page import write_flights


@pytest.fixture
def august(tmp_path):
    return write_flights(tmp_path / "2013-08.csv", [8])


def make_app(workspace, qtbot, use_tray):
    app = build_app(workspace, use_tray=use_tray, hooks=False)
    qtbot.addWidget(app.window)
    app.window.show()
    return app


def nowtest_on_the_monitor_page(app, qtbot, path):
    with qtbot.waitSignal(app.window.monitor.nowtest_finished, timeout=TIMEOUT_MS) as done:
        app.window.monitor.nowtest(path)
    return done.args[0]


def test_new_alarms_show_one_warning_balloon_that_opens_the_monitor_page(
        workspace, qtbot, quits, august, monkeypatch):
    app = make_app(workspace, qtbot, use_tray=True)
    shown = []
    monkeypatch.setattr(app.tray.icon, "showMessage", lambda *args: shown.append(args))
    with qtbot.waitSignal(app.tray.alarm_shown, timeout=TIMEOUT_MS) as balloon:
        outcome = nowtest_on_the_monitor_page(app, qtbot, august)
    roc = next(a for a in outcome.new_alarms if a.subject == "roc_auc")
    title, message = balloon.args
    assert title == f"Ratchet alarm: {DEMO_LABEL}"
    assert roc.message == f"{DEMO_LABEL}: {message.splitlines()[0]}"
    assert message.startswith(f"roc_auc {roc.value:.3f} is below the minimum 0.9 on 3,000 "
                              "labelled rows of 2013-08.csv.")  # metric, value and minimum
    more = len(outcome.new_alarms) - 1  # the roc_auc alarm and what came with it
    assert more >= 1 and f"…and {more} more alarm{'s' if more > 1 else ''}." in message
    assert shown == [(title, message, QSystemTrayIcon.MessageIcon.Warning, 20000)]

    app.window.show_page("predict")
    app.window.hide()
    app.tray.icon.messageClicked.emit()
    assert app.window.isVisible() and app.window.current_page() == "monitor"

    # the same problems again are repeats of open alarms: no second balloon
    with qtbot.assertNotEmitted(app.tray.alarm_shown, wait=600):
        nowtest_on_the_monitor_page(app, qtbot, august)
    assert len(shown) == 1

    # a click on another balloon (the "still running" notice) only shows the window
    app.tray.notify("Ratchet is still running", "…")
    app.window.show_page("models")
    app.tray.icon.messageClicked.emit()
    assert app.window.current_page() == "models"
    app.window.prepare_quit()
    app.qt.setQuitOnLastWindowClosed(True)


def test_without_a_tray_the_status_bar_and_the_monitor_page_show_the_alarm(
        workspace, qtbot, quits, august):
    app = make_app(workspace, qtbot, use_tray=False)
    window = app.window
    outcome = nowtest_on_the_monitor_page(app, qtbot, august)
    count = len(outcome.new_alarms)
    qtbot.waitUntil(lambda: window.alarm_status.isVisible(), timeout=TIMEOUT_MS)
    assert f"{count} open alarms" in window.alarm_status.text()
    assert window.monitor.alarms.rowCount() == count
    window.alarm_status.linkActivated.emit("monitor")
    assert window.current_page() == "monitor"
    app.qt.setQuitOnLastWindowClosed(True)


def _balloons() -> list:
    """Qt's own balloon (used on X11 when no desktop notification service answers)."""
    return [w for w in QApplication.topLevelWidgets()
            if w.metaObject().className() == "QBalloonTip" and w.isVisible()]


def test_a_real_tray_balloon_under_xvfb(workspace, qtbot, quits, august):
    """Runs where a tray host exists (Xvfb + trayer: QT_QPA_PLATFORM=xcb DISPLAY=:99)."""
    if not Tray.available():
        if os.environ.get("RATCHET_REQUIRE_TRAY"):  # set by tests/gui/run_under_xvfb.sh
            pytest.fail("Xvfb and trayer are running but Qt sees no system tray")
        pytest.skip("no system tray here (offscreen); `make test` runs it under Xvfb + trayer")
    app = build_app(workspace, hooks=False)
    qtbot.addWidget(app.window)
    assert app.tray is not None
    app.window.show()
    app.tray.show()
    # the balloon points at the icon: wait until the tray host has placed it
    qtbot.waitUntil(lambda: app.tray.icon.geometry().x() > 0, timeout=TIMEOUT_MS)
    assert QSystemTrayIcon.supportsMessages()
    with qtbot.waitSignal(app.tray.alarm_shown, timeout=TIMEOUT_MS) as balloon:
        nowtest_on_the_monitor_page(app, qtbot, august)
    assert balloon.args[0] == f"Ratchet alarm: {DEMO_LABEL}"
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        qtbot.waitUntil(lambda: len(_balloons()) == 1, timeout=TIMEOUT_MS)
        tip = _balloons()[0]
        assert tip.geometry().intersects(app.tray.icon.geometry().adjusted(-40, -40, 40, 40))
        app.window.show_page("predict")
        app.window.hide()
        qtbot.mouseClick(tip, Qt.MouseButton.LeftButton)  # what the operator does
        qtbot.waitUntil(lambda: app.window.isVisible(), timeout=TIMEOUT_MS)
        assert app.window.current_page() == "monitor"
    app.window.prepare_quit()
    app.qt.setQuitOnLastWindowClosed(True)
