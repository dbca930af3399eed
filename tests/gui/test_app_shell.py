"""The application shell: settings, the error dialog, excepthooks, logging, close and tray."""

import json
import logging
import os
import subprocess
import sys
import threading
from logging.handlers import RotatingFileHandler

import pytest
from PySide6.QtWidgets import QMessageBox

from engine.errors import BundleRejected, InputError
from gui import errors, logs
from gui.app import build_app
from gui.errors import error_box
from gui.excepthooks import install_excepthooks
from gui.settings import (
    SETTINGS_FORMAT,
    Settings,
    load_settings,
    save_settings,
    settings_path,
)
from tests.engine.workspace_kit import DEMO_LABEL
from tests.gui.kit import TIMEOUT_MS

# -- settings ---------------------------------------------------------------------------------


def test_settings_round_trip_in_the_config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RATCHET_CONFIG_DIR", str(tmp_path / "cfg"))
    assert load_settings() == Settings()  # no file yet: defaults
    saved = Settings(page="models", last_input_dir="/data", tray_notice_shown=True)
    assert save_settings(saved)
    assert settings_path() == tmp_path / "cfg" / "gui-settings.json"
    doc = json.loads(settings_path().read_text())
    assert doc["format"] == SETTINGS_FORMAT and doc["version"] == 1
    assert load_settings() == saved
    assert sorted(p.name for p in settings_path().parent.iterdir()) == ["gui-settings.json"]


@pytest.mark.parametrize("content", [
    "{not json",
    "",
    "[1, 2]",
    json.dumps({"format": "something-else", "values": {"page": "models"}}),
])
def test_unreadable_settings_fall_back_to_defaults(tmp_path, content):
    path = tmp_path / "gui-settings.json"
    path.write_text(content)
    assert load_settings(path) == Settings()


def test_settings_are_read_key_by_key(tmp_path):
    path = tmp_path / "gui-settings.json"
    path.write_text(json.dumps({"format": SETTINGS_FORMAT, "version": 99, "values": {
        "page": "models", "last_input_dir": 42, "tray_notice_shown": "yes", "unknown": 1}}))
    settings = load_settings(path)
    assert settings.page == "models"  # a newer version: what still fits is kept
    assert settings.last_input_dir == "" and settings.tray_notice_shown is False


# -- the error dialog -------------------------------------------------------------------------


def test_engine_errors_show_their_plain_message_and_code_in_details(qtbot):
    box = error_box(None, InputError("/x.csv: the file is empty.", "E_EMPTY_FILE"))
    assert "/x.csv: the file is empty." in box.text()
    assert "Code: E_EMPTY_FILE" in box.detailedText()
    assert box.icon() == QMessageBox.Icon.Warning


def test_a_refused_bundle_shows_the_verdict_as_headline(qtbot):
    exc = BundleRejected("untrusted", "E_KEY_UNTRUSTED", "it is signed by an unknown key.")
    box = error_box(None, exc)
    assert "The bundle is not from a trusted publisher" in box.text()
    assert box.informativeText() == "It is signed by an unknown key."
    assert "Code: E_KEY_UNTRUSTED" in box.detailedText()


def test_unexpected_errors_fold_the_traceback_under_details(qtbot):
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError as exc:
        box = error_box(None, exc)
    assert "unexpected problem" in box.text()
    assert "ZeroDivisionError: division by zero" in box.informativeText()
    assert "Traceback (most recent call last)" in box.detailedText()
    assert box.icon() == QMessageBox.Icon.Critical


def test_uncaught_exceptions_reach_the_dialog_on_the_ui_thread(qtbot, monkeypatch,
                                                              shown_errors):
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    threads = []
    monkeypatch.setattr(errors, "show_exception", lambda parent, exc: (
        shown_errors.append(exc), threads.append(threading.current_thread())))
    relay = install_excepthooks(lambda: None)
    sys.excepthook(ValueError, ValueError("from a slot"), None)
    worker = threading.Thread(target=lambda: 1 / 0, name="a-python-thread")
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: len(shown_errors) == 2, timeout=TIMEOUT_MS)
    assert [type(e) for e in shown_errors] == [ValueError, ZeroDivisionError]
    assert all(t is threading.main_thread() for t in threads)
    del relay


# -- logging ----------------------------------------------------------------------------------


def test_the_app_logs_to_a_rotating_file_in_the_workspace(tmp_path):
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        path = logs.setup_logging(tmp_path / "logs")
        logging.getLogger("gui.test").warning("hello from the test")
        added = [h for h in root.handlers if h not in before]
        assert any(isinstance(h, RotatingFileHandler) for h in added)
        for h in added:
            h.flush()
        assert path == tmp_path / "logs" / "ratchet-gui.log" == logs.log_file()
        assert "hello from the test" in path.read_text()
    finally:
        for h in [h for h in root.handlers if h not in before]:
            root.removeHandler(h)
            h.close()


# -- closing, quitting and the tray ----------------------------------------------------------


def test_without_a_tray_closing_the_window_ends_the_app(workspace, qtbot, quits):
    app = build_app(workspace, use_tray=False, hooks=False)
    qtbot.addWidget(app.window)
    app.window.show()
    assert app.qt.quitOnLastWindowClosed()
    assert app.window.close()  # accepted: the last window closes, so the app quits
    assert app.window.ctx.jobs.running() == []
    assert settings_path().is_file()  # saved on the way out


def test_with_a_tray_closing_hides_and_quit_really_quits(workspace, qtbot, quits):
    app = build_app(workspace, use_tray=True, hooks=False)
    qtbot.addWidget(app.window)
    app.window.show()
    qtbot.waitUntil(lambda: f"Model: {DEMO_LABEL}" in app.tray.icon.toolTip(),
                    timeout=TIMEOUT_MS)
    assert not app.qt.quitOnLastWindowClosed()
    assert not app.window.close()  # ignored: hidden to the tray
    assert not app.window.isVisible() and quits == []
    assert app.window.ctx.settings.tray_notice_shown
    app.tray.show_requested.emit()
    assert app.window.isVisible()
    app.tray.quit_action.trigger()
    assert quits == ["quit"]
    assert app.window.close()  # after Quit, closing is no longer intercepted
    app.qt.setQuitOnLastWindowClosed(True)


def test_any_quit_request_lets_the_window_close_despite_the_tray(workspace, qtbot, quits):
    """Qt 6's quit() first asks each window to close (the smoke timer, a session ending)."""
    app = build_app(workspace, use_tray=True, hooks=False)
    qtbot.addWidget(app.window)
    app.window.show()
    app.qt.quit_requested.emit()  # what RatchetApplication.event does on QEvent.Quit
    assert app.window.close()
    app.qt.setQuitOnLastWindowClosed(True)


def test_a_real_tray_icon_under_xvfb(workspace, qtbot, quits):
    """Runs where a tray host exists (Xvfb + trayer: QT_QPA_PLATFORM=xcb DISPLAY=:99)."""
    from gui.tray import Tray

    if not Tray.available():
        if os.environ.get("RATCHET_REQUIRE_TRAY"):  # set by tests/gui/run_under_xvfb.sh
            pytest.fail("Xvfb and trayer are running but Qt sees no system tray")
        pytest.skip("no system tray here (offscreen); `make test` runs it under Xvfb + trayer")
    app = build_app(workspace, hooks=False)
    qtbot.addWidget(app.window)
    assert app.tray is not None
    app.window.show()
    app.tray.show()
    qtbot.waitUntil(app.tray.icon.isVisible, timeout=TIMEOUT_MS)
    assert not app.window.close() and not app.window.isVisible()
    app.tray.quit_action.trigger()
    assert quits == ["quit"]
    app.qt.setQuitOnLastWindowClosed(True)
    # and the real process, with its tray icon, still quits by itself when asked
    result = subprocess.run([sys.executable, "-m", "gui.launcher", "gui", "--smoke", "1"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_quitting_asks_before_cancelling_any_long_job_and_names_it(workspace, qtbot, quits,
                                                                   monkeypatch):
    from gui import dialogs

    app = build_app(workspace, use_tray=False, hooks=False)
    window = app.window
    qtbot.addWidget(window)
    window.show()
    started, cancelled = [], []

    def until_cancelled(name, *, progress, cancel):  # stands in for the engine's long work
        started.append(name)
        while not cancel.cancelled:
            threading.Event().wait(0.01)
        cancelled.append(name)
        cancel.check()

    for name in ("back-test", "now-test", "trial start"):
        window.ctx.run(name, until_cancelled, name)
    qtbot.waitUntil(lambda: len(started) == 3, timeout=TIMEOUT_MS)
    questions, answers = [], [False, True]
    monkeypatch.setattr(dialogs, "confirm",
                        lambda parent, title, text: questions.append(text) or answers.pop(0))
    assert not window.close()  # No: nothing is cancelled
    assert questions == ["Still running: a back-test, a now-test (nothing will be recorded) "
                         "and the start of a trial. Quit anyway? They will be cancelled."]
    assert {job.name for job in window.ctx.jobs.running()} >= {"back-test", "now-test",
                                                              "trial start"}
    assert cancelled == []
    assert window.close()  # Yes: each is cancelled and joined
    assert sorted(cancelled) == ["back-test", "now-test", "trial start"]
    assert window.ctx.jobs.running() == []


def test_quitting_with_only_quick_reads_running_asks_nothing(workspace, qtbot, quits,
                                                             monkeypatch):
    from gui import dialogs

    app = build_app(workspace, use_tray=False, hooks=False)
    qtbot.addWidget(app.window)
    app.window.show()
    monkeypatch.setattr(dialogs, "confirm", lambda *args: pytest.fail(f"asked: {args}"))
    app.window.monitor.refresh()  # a read of the Monitor page's data ("monitor data")
    assert app.window.close()
