"""The app's folder watcher: a background thread that now-tests every new CSV in the watch
folder (engine.watch.watcher.FolderWatcher, each file through
engine.monitoring.nowtest_and_alarm with source "app"), and the alarm notices it leads to.

The thread is a plain ``threading.Thread`` stopped by a ``threading.Event`` (and the now-test
in progress by its cancel token) and always joined: :meth:`FolderWatch.stop` returns only once
it has ended, so the app never exits with the watcher half-way through a file. It reads the
workspace settings itself (``watch.folder``, ``watch.settle_seconds``), opens its own database
connections, and talks to the UI thread only through Qt signals (queued across threads).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from engine.progress import CancelToken

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
COALESCE_MS = 400  # alarms raised this close together make one balloon


@dataclass(frozen=True, slots=True)
class WatchStatus:
    """What the Monitor page says about the watcher."""

    state: str = "off"  # off (no folder set), running, stopped, failed
    folder: str = ""
    processed: int = 0  # files now-tested since the watcher (re)started
    failed: int = 0  # files that could not be now-tested
    current: str = ""  # the file being now-tested, with its progress
    last_error: str = ""

    def text(self) -> str:
        if self.state == "off":
            return ("No watch folder is set: choose one on the Settings page to have every "
                    "new CSV there now-tested in the background.")
        if self.state == "failed":
            return f"The watcher of {self.folder or 'the watch folder'} stopped: " \
                   f"{self.last_error}"
        text = f"Watching {self.folder} ({self.state}): {self.processed} " \
               f"file{'' if self.processed == 1 else 's'} now-tested"
        text += f", {self.failed} failed" if self.failed else ""
        text += f"; now-testing {self.current}" if self.current else ""
        text += f". Last error: {self.last_error}" if self.last_error else "."
        return text


def _stopped_state(status: WatchStatus) -> WatchStatus:
    return replace(status, state="stopped" if status.folder else "off", current="")


class FolderWatch(QObject):
    """Runs the watcher thread; every signal arrives on the UI thread."""

    event = Signal(object)  # engine.watch.watcher.WatchEvent of one file
    alarms_raised = Signal(object)  # list of engine.alarms.store.Alarm, new with one file
    status_changed = Signal(object)  # WatchStatus

    # emitted on the watcher thread; delivered (queued) to the slots below on the UI thread
    _from_thread_event = Signal(object)
    _from_thread_state = Signal(str, str, str)  # state, folder, error
    _from_thread_progress = Signal(str, float)  # file name, fraction

    def __init__(self, workspace: Path, interval: float = POLL_SECONDS,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.workspace = Path(workspace)
        self.interval = interval
        self.status = WatchStatus()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._token = CancelToken()
        self._from_thread_event.connect(self._on_event)
        self._from_thread_state.connect(self._on_state)
        self._from_thread_progress.connect(self._on_progress)

    # -- control (UI thread) --------------------------------------------------------------
    def start(self) -> None:
        """Start watching the folder the settings name (nothing runs when none is set)."""
        if self.running():
            return
        self._stop = threading.Event()
        self._token = CancelToken()
        self._thread = threading.Thread(target=self._run, args=(self._stop, self._token),
                                        name="ratchet-folder-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and join it (the file in progress is cancelled; its claim is the
        watcher's to settle, so it is picked up again on the next start)."""
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        self._token.cancel()
        thread.join()
        self._thread = None
        log.info("folder watcher stopped and joined")
        self._set_status(_stopped_state(self.status))

    def restart(self) -> None:
        """The watch settings changed: stop, join, and start again with the new ones."""
        self.stop()
        self.status = WatchStatus()
        self.start()

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the thread ------------------------------------------------------------------------
    def _run(self, stop: threading.Event, token: CancelToken) -> None:
        folder = ""
        try:
            from engine.monitoring import nowtest_and_alarm
            from engine.settings import load_settings
            from engine.watch.watcher import FolderWatcher

            settings = load_settings(self.workspace)
            folder = str(settings.get("watch.folder") or "")
            if not folder:
                self._from_thread_state.emit("off", "", "")
                return
            settle = float(settings.get("watch.settle_seconds") or 2.0)

            def process(path: Path):
                def progress(fraction: float, _message: str) -> None:
                    self._from_thread_progress.emit(Path(path).name, float(fraction))

                return nowtest_and_alarm(self.workspace, Path(path), source="app",
                                         progress=progress, cancel=token)

            watcher = FolderWatcher(self.workspace, Path(folder), process,
                                    settle_seconds=settle)
            log.info("watching %s for new CSV files (settle %.1f s)", folder, settle)
            self._from_thread_state.emit("running", folder, "")
            watcher.run(stop, interval=self.interval, on_event=self._from_thread_event.emit)
            self._from_thread_state.emit("stopped", folder, "")
        except Exception as exc:  # the thread must end quietly and say why on the page
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            log.warning("the folder watcher stopped: %s", message, exc_info=True)
            self._from_thread_state.emit("failed", folder, message)

    # -- reports from the thread (UI thread) ------------------------------------------------
    @Slot(str, str, str)
    def _on_state(self, state: str, folder: str, error: str) -> None:
        self._set_status(replace(self.status, state=state, folder=folder,
                                 last_error=error or self.status.last_error, current=""))

    @Slot(str, float)
    def _on_progress(self, name: str, fraction: float) -> None:
        if self.status.state == "running":
            self._set_status(replace(self.status, current=f"{name} ({fraction:.0%})"))

    @Slot(object)
    def _on_event(self, event) -> None:
        done = event.state == "done"
        error = "" if done else f"{Path(event.path).name}: {event.error}"
        mail_error = getattr(event.outcome, "email_error", None)
        if mail_error:
            error = f"the alarm e-mail about {Path(event.path).name} was not sent: {mail_error}"
        if not done:
            log.warning("the watcher could not now-test %s: %s", event.path, event.error)
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


def balloon_text(alarms: list) -> tuple[str, str]:
    """The tray balloon for one batch of new alarms: the model in the title, the first
    alarm's sentence (model, metric, value and minimum), and how many more there are."""
    models = list(dict.fromkeys(a.model for a in alarms))
    title = f"Ratchet alarm: {', '.join(models)}" if len(models) <= 2 else \
        f"Ratchet alarms: {len(models)} models"
    first = alarms[0]
    message = first.message.removeprefix(f"{first.model}: ")  # the title names the model
    if len(alarms) > 1:
        message += f"\n…and {len(alarms) - 1} more alarm{'s' if len(alarms) > 2 else ''}. " \
                   "Click to open the Monitor page."
    else:
        message += "\nClick to open the Monitor page."
    return title, message


class AlarmNotifier(QObject):
    """Collects new alarms from the watcher and from the app's own now-tests, and announces
    them as one notice per burst (a hundred files arriving at once make one balloon)."""

    notice = Signal(str, str, object)  # title, message, the alarms

    def __init__(self, parent: QObject | None = None, delay_ms: int = COALESCE_MS):
        super().__init__(parent)
        self._pending: list = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self._flush)

    def add(self, alarms: list) -> None:
        seen = {a.id for a in self._pending}
        self._pending.extend(a for a in alarms if a.id not in seen)
        if self._pending and not self._timer.isActive():
            self._timer.start()

    @Slot()
    def _flush(self) -> None:
        alarms, self._pending = self._pending, []
        if alarms:
            title, message = balloon_text(alarms)
            log.warning("%s: %s", title, message.splitlines()[0])
            self.notice.emit(title, message, alarms)
