"""The app's folder watcher: a background thread that now-tests every new CSV in the watch
folders (engine.services.watching: one engine.watch.watcher.FolderWatcher per folder, each
file through engine.services.nowtest.nowtest_and_alarm with its folder's bound model and
source "app"; a file that fails raises its "watch" alarm through
engine.services.nowtest.alarm_watch_failure). Its new alarms are announced by
gui.alarm_notices.AlarmNotifier.

The thread is a plain daemon ``threading.Thread`` stopped by a ``threading.Event`` (and the
now-test in progress by its cancel token). It reads the workspace settings itself
(``watch.folders``, ``watch.folder``, ``watch.settle_seconds``), opens its own database
connections, and talks to the UI thread only through Qt signals (queued across threads),
each tagged with the run it comes from.

The UI thread never waits for it without a bound: after a now-test is recorded the thread may
still be e-mailing the alarm (an SMTP server that does not answer holds it for the SMTP
timeout), which no cancel token interrupts. So :meth:`FolderWatch.restart` tells the old run
to stop and starts the new one at once -- two watchers on one folder are safe, the workspace's
claims give each file to exactly one of them -- and the old run's reports no longer change the
status (its last file's outcome is still passed on). :meth:`FolderWatch.stop`, on quit, waits a
few seconds at most.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from engine.progress import CancelToken

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
JOIN_SECONDS = 5.0  # the most stop() waits for the watcher threads (on quit)


@dataclass(frozen=True, slots=True)
class WatchStatus:
    """What the Monitor page says about the watcher."""

    state: str = "off"  # off (no folder set), running, stopped, failed
    folder: str = ""
    processed: int = 0  # files now-tested since the watcher (re)started
    failed: int = 0  # files that could not be now-tested
    current: str = ""  # the file being now-tested, with its progress
    last_error: str = ""
    waiting: bool = False  # failed, but still looking: it goes on once the problem clears

    def text(self) -> str:
        if self.state == "off":
            return ("No watch folder is set: choose one on the Settings page to have every "
                    "new CSV there now-tested in the background.")
        if self.state == "failed" and self.waiting:
            return f"The watcher of {self.folder or 'the watch folder'} cannot go on: " \
                   f"{self.last_error} It keeps looking and goes on by itself once that " \
                   "is put right."
        if self.state == "failed":
            return f"The watcher of {self.folder or 'the watch folder'} stopped: " \
                   f"{self.last_error}"
        text = f"Watching {self.folder} ({self.state}): {self.processed} " \
               f"file{'' if self.processed == 1 else 's'} now-tested"
        text += f", {self.failed} failed" if self.failed else ""
        text += f"; now-testing {self.current}" if self.current else ""
        text += f". Last error: {self.last_error}" if self.last_error else "."
        return text


def watched_text(bindings) -> str:
    """The watched folders as the status line names them: each path, with the model it is
    bound to where it is bound to one."""
    return ", ".join(b.folder if b.model is None else f"{b.folder} (model {b.model})"
                     for b in bindings)


def _stopped_state(status: WatchStatus) -> WatchStatus:
    return replace(status, state="stopped" if status.folder else "off", current="",
                   waiting=False)


@dataclass(eq=False, slots=True)
class _Run:
    """One start of the watcher thread: its number (tagging its reports), stop event and
    cancel token."""

    number: int
    stop: threading.Event = field(default_factory=threading.Event)
    token: CancelToken = field(default_factory=CancelToken)
    thread: threading.Thread | None = None

    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def tell_to_stop(self) -> None:
        self.stop.set()
        self.token.cancel()


class FolderWatch(QObject):
    """Runs the watcher thread; every signal arrives on the UI thread."""

    event = Signal(object)  # engine.watch.watcher.WatchEvent of one file
    alarms_raised = Signal(object)  # list of engine.alarms.store.Alarm, new with one file
    status_changed = Signal(object)  # WatchStatus

    # emitted on a watcher thread with its run's number; delivered (queued) to the slots
    # below on the UI thread
    _from_thread_event = Signal(int, object)
    _from_thread_state = Signal(int, str, str, str)  # run, state, folder, error
    _from_thread_problem = Signal(int, object)  # run, the problem's text or None (cleared)
    _from_thread_progress = Signal(int, str, float)  # run, file name, fraction
    _from_thread_ended = Signal(int)  # run

    def __init__(self, workspace: Path, interval: float = POLL_SECONDS,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.workspace = Path(workspace)
        self.interval = interval
        self.status = WatchStatus()
        self._run: _Run | None = None  # the one whose reports make the status
        self._retiring: list[_Run] = []  # told to stop, maybe still finishing a file
        self._runs = 0
        self._closed = False  # after stop() on quit nothing is emitted any more
        self._from_thread_event.connect(self._on_event)
        self._from_thread_state.connect(self._on_state)
        self._from_thread_problem.connect(self._on_problem)
        self._from_thread_progress.connect(self._on_progress)
        self._from_thread_ended.connect(self._on_ended)

    # -- control (UI thread) --------------------------------------------------------------
    def start(self) -> None:
        """Start watching the folder the settings name (nothing runs when none is set)."""
        if self.running():
            return
        self._closed = False
        self._runs += 1
        run = _Run(self._runs)
        run.thread = threading.Thread(target=self._work, args=(run,), daemon=True,
                                      name=f"ratchet-folder-watcher-{run.number}")
        self._run = run
        run.thread.start()

    def _retire(self) -> None:
        """Tell the current run to stop (the file in progress is cancelled and its claim
        given back) without waiting for it; from now on its reports leave the status be."""
        run, self._run = self._run, None
        if run is None:
            return
        run.tell_to_stop()
        if run.alive():
            self._retiring.append(run)

    def restart(self) -> None:
        """The watch settings changed: tell the running watcher to stop and start a new one
        with the new settings at once, never waiting for the old one (see the module doc)."""
        old = self._run
        self._retire()
        if old is not None and old.alive():
            log.info("the folder watcher restarts; the earlier one ends after its current "
                     "step")
        self.status = WatchStatus()
        self.start()

    def stop(self, timeout: float = JOIN_SECONDS) -> bool:
        """Stop every watcher thread and wait for them, ``timeout`` seconds at most (quit,
        tests); True when all have ended. One still busy -- e.g. e-mailing an alarm to a
        server that does not answer -- is left behind: it is a daemon thread, ending with the
        app, and a file it had claimed but not settled is taken up at the next start (its
        now-test, when already recorded, stands and is not repeated)."""
        had_run = self._run is not None
        self._retire()
        runs, self._retiring = self._retiring, []
        for run in runs:
            run.tell_to_stop()
        deadline = time.monotonic() + timeout
        for run in runs:
            run.thread.join(max(0.0, deadline - time.monotonic()))
        left = [run for run in runs if run.alive()]
        self._retiring = left
        if left:
            self._closed = True
            log.warning("the folder watcher did not end within %.0f s (still busy with a "
                        "file: %s); leaving it behind, its claim is settled at the next start",
                        timeout, ", ".join(run.thread.name for run in left))
        elif runs:
            log.info("folder watcher stopped and joined")
        if had_run:
            self._set_status(_stopped_state(self.status))
        return not left

    def running(self) -> bool:
        """Whether the current watcher thread runs (not counting one told to stop)."""
        return self._run is not None and self._run.alive()

    def finishing(self) -> list[threading.Thread]:
        """Watcher threads told to stop that are still finishing a file."""
        return [run.thread for run in self._retiring if run.alive()]

    # -- the thread ------------------------------------------------------------------------
    def _emit(self, signal, *args) -> None:
        """Emit from a watcher thread, unless the app is closing (the receiver may be gone)."""
        if not self._closed:
            signal.emit(*args)

    def _work(self, run: _Run) -> None:
        n = run.number
        folder = ""
        try:
            from engine.services.watching import configured_bindings, watch_all

            bindings, settle = configured_bindings(self.workspace)
            if not bindings:
                self._emit(self._from_thread_state, n, "off", "", "")
                return
            folder = watched_text(bindings)

            def progress_for(path: Path):
                def progress(fraction: float, _message: str) -> None:
                    self._emit(self._from_thread_progress, n, Path(path).name, float(fraction))
                return progress

            watchers = watch_all(self.workspace, bindings, "app", run.token, settle,
                                 progress_for)
            problems: dict[Path, str] = {}  # folder -> what keeps it from going on

            def on_problem(watcher, text: str | None) -> None:
                if text:
                    problems[watcher.folder] = text
                else:
                    problems.pop(watcher.folder, None)
                self._emit(self._from_thread_problem, n, " ".join(problems.values()) or None)

            log.info("watching %s for new CSV files (settle %.1f s)", folder, settle)
            self._emit(self._from_thread_state, n, "running", folder, "")
            watchers.run(run.stop, interval=self.interval,
                         on_event=lambda event: self._emit(self._from_thread_event, n, event),
                         on_problem=on_problem)
            self._emit(self._from_thread_state, n, "stopped", folder, "")
        except Exception as exc:  # the thread must end quietly and say why on the page
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            log.warning("the folder watcher stopped: %s", message, exc_info=True)
            self._emit(self._from_thread_state, n, "failed", folder, message)
        finally:
            self._emit(self._from_thread_ended, n)

    # -- reports from the thread (UI thread) ------------------------------------------------
    def _is_current(self, number: int) -> bool:
        return self._run is not None and self._run.number == number

    @Slot(int, str, str, str)
    def _on_state(self, number: int, state: str, folder: str, error: str) -> None:
        if self._is_current(number):
            self._set_status(replace(self.status, state=state, folder=folder, waiting=False,
                                     last_error=error or self.status.last_error, current=""))

    @Slot(int, object)
    def _on_problem(self, number: int, problem: str | None) -> None:
        """The folder (or the database) cannot be read for now, or can again."""
        if not self._is_current(number):
            return
        if problem:
            self._set_status(replace(self.status, state="failed", waiting=True, current="",
                                     last_error=problem))
        else:
            self._set_status(replace(self.status, state="running", waiting=False))

    @Slot(int, str, float)
    def _on_progress(self, number: int, name: str, fraction: float) -> None:
        if self._is_current(number) and self.status.state == "running":
            self._set_status(replace(self.status, current=f"{name} ({fraction:.0%})"))

    @Slot(int)
    def _on_ended(self, number: int) -> None:
        before = len(self._retiring)
        self._retiring = [run for run in self._retiring if run.number != number]
        if len(self._retiring) < before:
            log.info("the earlier folder watcher (run %d) has ended", number)

    @Slot(int, object)
    def _on_event(self, number: int, event) -> None:
        """A file was now-tested. One by a retired run is still passed on (it is recorded,
        its alarms are real) but no longer counts on the status line."""
        done = event.state == "done"
        error = "" if done else f"{Path(event.path).name}: {event.error}"
        mail_error = getattr(event.outcome, "email_error", None)
        if mail_error:
            error = f"the alarm e-mail about {Path(event.path).name} was not sent: {mail_error}"
        if not done:
            log.warning("the watcher could not now-test %s: %s", event.path, event.error)
        if self._is_current(number):
            self._set_status(replace(
                self.status, processed=self.status.processed + int(done),
                failed=self.status.failed + int(not done), current="",
                last_error=error or self.status.last_error))
        self.event.emit(event)
        alarms = list(getattr(event.outcome, "new_alarms", None) or [])
        if alarms:
            self.alarms_raised.emit(alarms)

    def _set_status(self, status: WatchStatus) -> None:
        self.status = status
        self.status_changed.emit(status)
