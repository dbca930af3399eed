"""The app's folder watcher: a real thread, a real temporary watch folder and the real now-test.
Files dropped into the folder are now-tested once (also across a restart), their alarms are
reported, a now-test in progress is cancelled on stop and done after the next start, and the
thread is always joined (the app never quits with it running)."""

import sqlite3

import pytest
from PySide6.QtCore import Qt

from engine.alarms.store import Alarm
from engine.settings import set_setting
from gui.app import build_app
from gui.watching import AlarmNotifier, FolderWatch, balloon_text
from tests.gui.kit import TIMEOUT_MS
from tests.gui.test_monitor_page import write_flights

FAST = 0.05  # seconds between looks at the folder in these tests


@pytest.fixture
def folder(workspace, tmp_path):
    path = tmp_path / "incoming"
    path.mkdir()
    set_setting(workspace, "watch.folder", str(path))
    set_setting(workspace, "watch.settle_seconds", "0")
    return path


@pytest.fixture
def watch(workspace, qtbot):
    w = FolderWatch(workspace, interval=FAST)
    yield w
    w.stop()


def drop(folder, name: str, months, rows: int = 1500, labelled: bool = True):
    """Write the file under a partial name and rename it in, as a copying program does."""
    part = write_flights(folder / f"{name}.part", months, rows, labelled)
    return part.rename(folder / name)


def running(watch, qtbot):
    qtbot.waitUntil(lambda: watch.status.state == "running", timeout=TIMEOUT_MS)


def nowtests(workspace) -> list[tuple]:
    with sqlite3.connect(workspace / "ratchet.db") as db:
        return db.execute("SELECT input, source, alarm FROM nowtests ORDER BY id").fetchall()


def test_files_dropped_into_the_folder_are_now_tested_once(workspace, folder, watch, qtbot):
    events, raised, statuses = [], [], []
    watch.event.connect(events.append)
    watch.alarms_raised.connect(raised.append)
    watch.status_changed.connect(statuses.append)
    watch.start()
    running(watch, qtbot)
    assert watch.status.folder == str(folder.resolve())
    drop(folder, "2013-h1.csv", range(1, 7))
    drop(folder, "2013-08.csv", [8])
    qtbot.waitUntil(lambda: len(events) == 2, timeout=TIMEOUT_MS)
    assert sorted(e.path.name for e in events) == ["2013-08.csv", "2013-h1.csv"]
    assert all(e.state == "done" and e.nowtest_id for e in events)
    assert len(raised) == 1  # one batch: the August file's new alarms
    assert {a.subject for a in raised[0]} >= {"roc_auc"}
    assert watch.status.processed == 2 and watch.status.failed == 0
    assert "2 files now-tested" in watch.status.text()
    assert any(s.current.startswith("2013-") for s in statuses)  # progress was shown
    assert sorted((name.rsplit("/", 1)[-1], source, alarm)
                  for name, source, alarm in nowtests(workspace)) == \
        [("2013-08.csv", "app", 1), ("2013-h1.csv", "app", 0)]

    watch.stop()
    assert not watch.running() and watch.status.state == "stopped"
    # after a restart the two files are not now-tested again; a new one is
    watch.start()
    running(watch, qtbot)
    drop(folder, "2013-02.csv", [2], rows=600, labelled=False)
    qtbot.waitUntil(lambda: len(events) == 3, timeout=TIMEOUT_MS)
    assert events[2].path.name == "2013-02.csv"
    assert len(nowtests(workspace)) == 3 and watch.status.processed == 3  # since the app began


def test_stopping_cancels_the_file_in_progress_and_it_is_done_after_a_restart(
        workspace, folder, watch, qtbot):
    events = []
    watch.event.connect(events.append)
    watch.start()
    running(watch, qtbot)
    drop(folder, "year.csv", range(1, 13), rows=150_000, labelled=False)
    qtbot.waitUntil(lambda: watch.status.current.startswith("year.csv"), timeout=TIMEOUT_MS)
    watch.stop()  # returns once the thread has ended
    assert not watch.running() and events == []
    assert nowtests(workspace) == []
    watch.start()
    qtbot.waitUntil(lambda: len(events) == 1, timeout=TIMEOUT_MS)
    assert events[0].state == "done" and len(nowtests(workspace)) == 1


def test_a_file_that_cannot_be_now_tested_is_reported_and_the_watcher_goes_on(
        workspace, folder, watch, qtbot):
    events = []
    watch.event.connect(events.append)
    watch.start()
    running(watch, qtbot)
    (folder / "broken.csv").write_text("carrier,origin\nUA,EWR\n")
    qtbot.waitUntil(lambda: len(events) == 1, timeout=TIMEOUT_MS)
    assert events[0].state == "failed"
    assert watch.status.failed == 1 and "broken.csv" in watch.status.last_error
    drop(folder, "2013-03.csv", [3], rows=600)
    qtbot.waitUntil(lambda: len(events) == 2, timeout=TIMEOUT_MS)
    assert events[1].state == "done" and watch.status.processed == 1
    assert "1 failed" in watch.status.text() and "Last error: broken.csv" in \
        watch.status.text()


def test_without_a_folder_nothing_is_watched_and_a_vanished_one_is_reported(
        workspace, watch, qtbot, tmp_path):
    watch.start()
    qtbot.waitUntil(lambda: not watch.running(), timeout=TIMEOUT_MS)
    assert watch.status.state == "off" and "No watch folder is set" in watch.status.text()
    gone = tmp_path / "gone"
    gone.mkdir()
    set_setting(workspace, "watch.folder", str(gone))
    gone.rmdir()
    watch.restart()
    qtbot.waitUntil(lambda: watch.status.state == "failed", timeout=TIMEOUT_MS)
    assert "does not exist" in watch.status.text() and str(gone) in watch.status.text()


def test_the_app_watches_the_folder_saved_in_settings_and_joins_the_thread_on_close(
        workspace, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QApplication

    monkeypatch.setattr(QApplication, "quit", staticmethod(lambda: None))
    app = build_app(workspace, use_tray=False, hooks=False)
    qtbot.addWidget(app.window)
    window = app.window
    window.watch.interval = FAST
    window.show()
    settings = window.settings_page
    qtbot.waitUntil(lambda: settings.save_button.isEnabled(), timeout=TIMEOUT_MS)
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    settings.fields["watch.folder"].setText(str(incoming))
    settings.fields["watch.settle_seconds"].setText("0")
    qtbot.mouseClick(settings.save_button, Qt.MouseButton.LeftButton)  # (re)starts it
    qtbot.waitUntil(lambda: window.watch.status.state == "running", timeout=TIMEOUT_MS)
    assert window.monitor.watch_status.text().startswith(f"Watching {incoming.resolve()}")

    drop(incoming, "2013-08.csv", [8])
    qtbot.waitUntil(lambda: window.monitor.alarms.rowCount() > 0, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.alarm_status.isVisible(), timeout=TIMEOUT_MS)
    count = window.monitor.alarms.rowCount()
    assert window.alarm_status.text().endswith(f"{count} open alarms</a>")
    assert window.monitor.nowtests.rowCount() == 1
    assert "1 file now-tested" in window.monitor.watch_status.text()

    assert window.watch.running()
    assert window.close()  # no tray: the app ends, and the watcher with it
    assert not window.watch.running() and window.watch._thread is None
    app.qt.setQuitOnLastWindowClosed(True)


def _alarm(i: int, model: str = "demo-flight-delay@1") -> Alarm:
    return Alarm(i, model, "metric", "roc_auc", 0.88, 0.92,
                 f"{model}: roc_auc 0.880 is below the minimum 0.92 on file {i}.", 1,
                 "2026-11-26T10:00:00+00:00", "2026-11-26T10:00:00+00:00", i, i, None, None,
                 None, None)


def test_a_burst_of_new_alarms_makes_one_notice(qtbot):
    notifier = AlarmNotifier(delay_ms=50)
    notices = []
    notifier.notice.connect(lambda *args: notices.append(args))
    with qtbot.waitSignal(notifier.notice, timeout=TIMEOUT_MS):
        for i in range(1, 51):
            notifier.add([_alarm(i)])
        notifier.add([_alarm(1)])  # the same alarm twice counts once
    assert len(notices) == 1
    title, message, alarms = notices[0]
    assert title == "Ratchet alarm: demo-flight-delay@1" and len(alarms) == 50
    assert message.startswith("roc_auc 0.880 is below the minimum 0.92 on file 1.")
    assert "…and 49 more alarms." in message
    with qtbot.assertNotEmitted(notifier.notice, wait=120):
        notifier.add([])


def test_balloon_titles_name_the_models():
    assert balloon_text([_alarm(1)])[0] == "Ratchet alarm: demo-flight-delay@1"
    assert balloon_text([_alarm(1), _alarm(2, "other@3")])[0] == \
        "Ratchet alarm: demo-flight-delay@1, other@3"
    assert balloon_text([_alarm(1, "a@1"), _alarm(2, "b@1"), _alarm(3, "c@1")])[0] == \
        "Ratchet alarms: 3 models"
    assert balloon_text([_alarm(1)])[1].endswith("Click to open the Monitor page.")


def test_an_alarm_e_mail_that_cannot_be_sent_is_said_on_the_status_line(
        workspace, folder, watch, qtbot):
    import socket

    with socket.socket() as probe:  # a port nobody listens on: the connection is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for key, text in (("smtp.host", "127.0.0.1"), ("smtp.port", str(port)),
                      ("smtp.starttls", "false"), ("alarms.email_to", "ops@example.org")):
        set_setting(workspace, key, text)
    events = []
    watch.event.connect(events.append)
    watch.start()
    running(watch, qtbot)
    drop(folder, "2013-08.csv", [8])
    qtbot.waitUntil(lambda: len(events) == 1, timeout=TIMEOUT_MS)
    outcome = events[0].outcome
    assert events[0].state == "done" and outcome.email_error  # the alarms are kept
    assert all(a.email_error == outcome.email_error for a in outcome.new_alarms)
    assert "the alarm e-mail about 2013-08.csv was not sent" in watch.status.text()
