"""The app's folder watcher: a real thread, a real temporary watch folder and the real now-test.
Files dropped into the folder are now-tested once (also across a restart), their alarms are
reported, a now-test in progress is cancelled on stop and done after the next start, and the
thread is always joined (the app never quits with it running)."""

import socket
import sqlite3
import threading

import pytest
from PySide6.QtCore import Qt

from engine.alarms.store import Alarm
from engine.ground.settings import set_setting
from gui.alarm_notices import AlarmNotifier, balloon_text
from gui.app import build_app
from gui.pages.monitor import MonitorPage
from gui.watching import FolderWatch
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
    settings.watch_folders.add_folder(str(incoming))
    settings.fields["watch.settle_seconds"].setText("0")
    qtbot.mouseClick(settings.save_button, Qt.MouseButton.LeftButton)  # (re)starts it
    qtbot.waitUntil(lambda: window.watch.status.state == "running", timeout=TIMEOUT_MS)
    assert window.monitor.watch_status.text().startswith(f"Watching {incoming.resolve()}")

    drop(incoming, "2013-08.csv", [8])
    qtbot.waitUntil(lambda: window.monitor.alarms.rowCount() > 0, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.alarm_status.isVisible(), timeout=TIMEOUT_MS)
    count = window.monitor.alarms.rowCount()
    noun = "alarm" if count == 1 else "alarms"
    assert window.alarm_status.text().endswith(f"{count} open {noun}</a>")
    assert window.monitor.nowtests.rowCount() == 1
    assert "1 file now-tested" in window.monitor.watch_status.text()

    assert window.watch.running()
    assert window.close()  # no tray: the app ends, and the watcher with it
    assert not window.watch.running() and window.watch.finishing() == []
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


# -- a watcher busy where no cancel token reaches: e-mailing an alarm to a silent server -------
class SilentSmtp:
    """An SMTP server that accepts connections and never answers: the alarm e-mail waits for
    its greeting (the SMTP timeout, 20 s) until :meth:`hang_up`."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(5)
        self.port = self.server.getsockname()[1]
        self.connected = threading.Event()
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:  # closed
                return
            self.held.append(conn)
            self.connected.set()

    def hang_up(self) -> None:
        """Close the connections: the waiting e-mail fails at once."""
        for conn in self.held:
            conn.close()
        self.server.close()


@pytest.fixture
def silent_smtp(workspace):
    smtp = SilentSmtp()
    for key, text in (("smtp.host", "127.0.0.1"), ("smtp.port", str(smtp.port)),
                      ("smtp.starttls", "false"), ("alarms.email_to", "ops@example.org")):
        set_setting(workspace, key, text)
    yield smtp
    smtp.hang_up()


def e_mailing(workspace, folder, watch, qtbot, smtp) -> threading.Thread:
    """Start the watcher and drop a file with alarms; return its thread once that thread
    waits on the silent SMTP server (its now-test recorded, its claim not yet settled)."""
    watch.start()
    running(watch, qtbot)
    thread = watch._run.thread
    drop(folder, "2013-08.csv", [8])
    qtbot.waitUntil(smtp.connected.is_set, timeout=TIMEOUT_MS)
    assert len(nowtests(workspace)) == 1 and thread.is_alive()
    return thread


def test_a_restart_never_waits_for_the_watcher_and_its_old_reports_leave_the_status_be(
        workspace, folder, watch, qtbot, silent_smtp):
    events = []
    watch.event.connect(events.append)
    old = e_mailing(workspace, folder, watch, qtbot, silent_smtp)
    watch.restart()  # what saving the watch settings does, on the UI thread
    assert old.is_alive()  # returned while the old thread still waits for the server
    assert watch.finishing() == [old] and watch.running()
    running(watch, qtbot)  # the new watcher, at once
    assert watch._run.thread is not old

    silent_smtp.hang_up()  # the old thread's e-mail fails; it settles its file and ends
    qtbot.waitUntil(lambda: watch.finishing() == [] and not old.is_alive(), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: len(events) == 1, timeout=TIMEOUT_MS)
    assert events[0].state == "done" and events[0].outcome.email_error  # passed on...
    assert watch.status.state == "running" and watch.status.processed == 0  # ...not counted
    assert watch.status.last_error == ""
    drop(folder, "2013-03.csv", [3], rows=600)  # the new watcher works; the old file is done
    qtbot.waitUntil(lambda: len(events) == 2, timeout=TIMEOUT_MS)
    assert events[1].path.name == "2013-03.csv" and watch.status.processed == 1
    assert len(nowtests(workspace)) == 2


def test_stopping_waits_a_bounded_time_and_leaves_a_stuck_watcher_behind(
        workspace, folder, watch, qtbot, silent_smtp):
    stuck = e_mailing(workspace, folder, watch, qtbot, silent_smtp)
    assert watch.stop(timeout=0.2) is False  # what quitting does (with a few seconds)
    assert stuck.is_alive() and stuck.daemon and watch.finishing() == [stuck]
    assert not watch.running() and watch.status.state == "stopped"
    silent_smtp.hang_up()
    stuck.join(timeout=60)
    assert not stuck.is_alive()
    with sqlite3.connect(workspace / "ratchet.db") as db:  # it settled its claim as it ended
        assert db.execute("SELECT state FROM watched_files").fetchall() == [("done",)]
    assert watch.stop() is True and watch.finishing() == []


def test_a_watch_folder_deleted_while_watching_shows_in_red_until_it_is_back(
        workspace, folder, watch, qtbot, ctx):
    page = MonitorPage(ctx)
    qtbot.addWidget(page)
    watch.status_changed.connect(page.show_watch_status)
    watch.start()
    running(watch, qtbot)
    assert "#006e32" in page.watch_status.styleSheet()  # green
    folder.rmdir()
    qtbot.waitUntil(lambda: watch.status.state == "failed", timeout=TIMEOUT_MS)
    assert watch.running()  # still looking
    assert page.watch_status.text() == (
        f"The watcher of {folder.resolve()} cannot go on: the watch folder "
        f"{folder.resolve()} no longer exists. It keeps looking and goes on by itself once "
        "that is put right.")
    assert "#b00020" in page.watch_status.styleSheet()  # red
    events = []
    watch.event.connect(events.append)
    folder.mkdir()
    qtbot.waitUntil(lambda: watch.status.state == "running", timeout=TIMEOUT_MS)
    assert page.watch_status.text().startswith(f"Watching {folder.resolve()} (running)")
    assert "#006e32" in page.watch_status.styleSheet()
    drop(folder, "2013-03.csv", [3], rows=600)
    qtbot.waitUntil(lambda: len(events) == 1, timeout=TIMEOUT_MS)
    assert events[0].state == "done" and watch.status.processed == 1


def test_a_failed_file_is_a_watch_alarm_with_a_balloon_and_one_red_status_line(
        workspace, folder, watch, qtbot, ctx):
    """A file the watcher cannot now-test raises a "watch" alarm (announced like the others)
    and the Monitor page's status stays one line, red, with the whole text in its tooltip."""
    page = MonitorPage(ctx)
    qtbot.addWidget(page)
    page.resize(500, 400)
    page.show()
    watch.status_changed.connect(page.show_watch_status)
    raised = []
    watch.alarms_raised.connect(raised.append)
    watch.start()
    running(watch, qtbot)
    (folder / "broken.csv").write_text("carrier,origin\nUA,EWR\n")
    qtbot.waitUntil(lambda: len(raised) == 1, timeout=TIMEOUT_MS)
    (alarm,) = raised[0]
    assert alarm.kind == "watch" and "broken.csv" in alarm.message
    assert balloon_text(raised[0])[0]  # the tray's notice has a title
    qtbot.waitUntil(lambda: watch.status.failed == 1, timeout=TIMEOUT_MS)
    label = page.watch_status
    assert "#b00020" in label.styleSheet()  # the failure colour, not green
    assert "\n" not in label.text() and "broken.csv" in label.toolTip()
    assert label.height() <= 2 * label.fontMetrics().height()
    assert label.shown_text() != label.text() and label.shown_text().endswith("…")
    (folder / "again.csv").write_text("carrier,origin\nAA,JFK\n")  # the same reason again
    qtbot.waitUntil(lambda: watch.status.failed == 2, timeout=TIMEOUT_MS)
    assert len(raised) == 1  # a repeat of the open alarm: no second notice
