"""Watch a folder and process every new CSV in it exactly once.

A file is taken only when it has settled: its (size, mtime_ns) stayed the same across polls
for `settle_seconds` and it can be opened, so a file still being copied in is never read half.
Then it is claimed in the workspace database (engine.watch.claims), processed, and its claim
settled as done or failed. Files already done or failed are skipped, also after a restart; a
file replaced with new content (new size or time) is new work. A failure is recorded with its
message and not retried; the watcher goes on with the next file. A file that settles empty (0
bytes) is recorded as failed without being processed; when its content arrives, that is new
work.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.errors import Cancelled, EngineError, InputError
from engine.ground import faults
from engine.ground.database import connect
from engine.ground.paths import Workspace
from engine.watch.claims import STALE_AFTER_SECONDS, FileVersion, Owner, claim, finish, release

log = logging.getLogger(__name__)

PARTIAL_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".download")


@dataclass(frozen=True, slots=True)
class WatchEvent:
    path: Path
    state: str  # "done" | "failed"
    nowtest_id: int | None
    error: str | None
    outcome: object = None  # what process() returned (engine.services.nowtest.MonitorOutcome)
    # or, for a failed file, what on_failure returned (engine.services.nowtest.WatchFailure)
    code: str | None = None  # the failure's error code

    def to_json(self) -> dict:
        return {"path": str(self.path), "state": self.state, "nowtest_id": self.nowtest_id,
                "error": self.error}


def is_candidate(name: str) -> bool:
    """A CSV that is not hidden and not a temporary or partial download."""
    lower = name.lower()
    if name.startswith((".", "~")) or name.endswith("~") or not lower.endswith(".csv"):
        return False
    return not any(s in PARTIAL_SUFFIXES for s in Path(lower).suffixes)


def _can_open(path: Path) -> bool:
    """Windows refuses to open a file another program is still writing; elsewhere this is
    a cheap check that the file is readable at all."""
    try:
        with path.open("rb"):
            return True
    except OSError:
        return False


class FolderWatcher:
    def __init__(self, root, folder, process: Callable[[Path], object],
                 settle_seconds: float = 2.0, clock: Callable[[], float] = time.monotonic,
                 stale_after: float = STALE_AFTER_SECONDS,
                 on_failure: Callable[[Path, str, str | None], object] | None = None,
                 model: str | None = None, must_exist: bool = True):
        folder = Path(folder).expanduser()
        self._existed = folder.is_dir()
        if not self._existed and must_exist:
            raise InputError(f"the watch folder {folder} does not exist or is not a folder; "
                             "create it or choose another.", "E_WATCH_FOLDER")
        # must_exist=False (one of several folders): a missing folder is a problem run()
        # reports, and watched from when it appears
        self.folder = folder.resolve()
        self.process = process
        self.on_failure = on_failure  # (path, error, code) of a failed file: its alarm
        self.model = model  # the model the folder is bound to (None: by header), for messages
        self.settle_seconds = float(settle_seconds)
        self.clock = clock
        self.stale_after = stale_after
        self.database = Workspace.open(root).database
        self._seen: dict[str, tuple[int, int, float]] = {}  # name -> size, mtime_ns, since
        self._finished: set[FileVersion] = set()  # done or failed: never again
        self._owner = Owner.me()
        self._problem: str | None = None  # what keeps run() from going on, while it lasts

    # -- looking ---------------------------------------------------------------------------
    def _scan(self) -> dict[str, tuple[int, int]]:
        found = {}
        try:
            entries = list(os.scandir(self.folder))
        except (FileNotFoundError, NotADirectoryError):
            if not self._existed:
                raise InputError(f"the watch folder {self.folder} does not exist; create it "
                                 "or remove it from the watch folders (Settings, or `ratchet "
                                 "settings set watch.folders`).", "E_WATCH_FOLDER") from None
            raise InputError(f"the watch folder {self.folder} no longer exists.",
                             "E_WATCH_FOLDER") from None
        self._existed = True
        for entry in entries:
            if not is_candidate(entry.name):
                continue
            try:
                if not entry.is_file():
                    continue
                st = entry.stat()
            except OSError:
                continue  # removed while we looked
            found[entry.name] = (st.st_size, st.st_mtime_ns)
        return found

    def settled(self) -> list[FileVersion]:
        """Look at the folder once; the file versions that have settled and are not done."""
        now = self.clock()
        present = self._scan()
        self._seen = {k: v for k, v in self._seen.items() if k in present}
        self._finished = {v for v in self._finished if v.name in present}
        ready = []
        for name, (size, mtime_ns) in present.items():
            version = FileVersion(name, size, mtime_ns)
            if version in self._finished:
                continue
            before = self._seen.get(name)
            if before is None or before[:2] != (size, mtime_ns):
                self._seen[name] = (size, mtime_ns, now)  # new, or changed: wait again
                continue
            if now - before[2] >= self.settle_seconds and _can_open(self.folder / name):
                ready.append(version)
        return sorted(ready, key=lambda v: (v.mtime_ns, v.name))

    # -- working ---------------------------------------------------------------------------
    def poll_once(self) -> list[WatchEvent]:
        """Look once and process every settled new file; the events, in processing order."""
        return self._poll(None, None)

    def _poll(self, stop: threading.Event | None,
              on_event: Callable[[WatchEvent], None] | None) -> list[WatchEvent]:
        ready = self.settled()
        if not ready:
            return []
        events = []
        conn = connect(self.database)
        try:
            for version in ready:
                if stop is not None and stop.is_set():
                    break
                state = claim(conn, str(self.folder), version, self._owner, self.stale_after)
                if state in ("done", "failed"):
                    self._finished.add(version)
                if state != "claimed":
                    continue
                faults.step("watch.claimed")
                event = self._work(conn, version)
                self._finished.add(version)
                events.append(event)
                if on_event is not None:
                    on_event(event)
        finally:
            conn.close()
        return events

    def _work(self, conn, version: FileVersion) -> WatchEvent:
        path = self.folder / version.name
        folder = str(self.folder)
        if version.size == 0:
            error = (f"{path}: the file is empty (0 bytes); it needs a header row and data "
                     "rows. Save the complete file into the folder again.")
            log.warning("%s could not be processed: %s", path, error)
            finish(conn, folder, version, self._owner, "failed", error=error)
            return self._failed(path, error, "E_EMPTY_FILE")
        try:
            outcome = self.process(path)
        except Cancelled:
            release(conn, folder, version, self._owner)
            raise
        except Exception as exc:
            error = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            log.warning("%s could not be processed: %s", path, error,
                        exc_info=not isinstance(exc, EngineError))
            finish(conn, folder, version, self._owner, "failed", error=error)
            return self._failed(path, error, getattr(exc, "code", None))
        except BaseException:  # KeyboardInterrupt, SystemExit: leave it for the next run
            release(conn, folder, version, self._owner)
            raise
        nowtest_id = getattr(outcome, "nowtest_id", None)
        faults.step("watch.nowtest-recorded")
        finish(conn, folder, version, self._owner, "done", nowtest_id=nowtest_id)
        log.info("%s processed (now-test %s)", path, nowtest_id)
        return WatchEvent(path, "done", nowtest_id, None, outcome)

    def _failed(self, path: Path, error: str, code: str | None) -> WatchEvent:
        """The event of a failed file, after raising its alarm through `on_failure` (which
        must not stop the watcher: a problem raising it is logged)."""
        outcome = None
        if self.on_failure is not None:
            try:
                outcome = self.on_failure(path, error, code)
            except Exception:
                log.exception("the alarm about the failed file %s could not be raised", path)
        return WatchEvent(path, "failed", None, error, outcome, code)

    def drain(self, sleep: Callable[[float], None] = time.sleep) -> list[WatchEvent]:
        """Process what has settled now and return (`ratchet watch --once`): look, wait the
        settle time, look again. Files still changing are left for a later run."""
        events = self._poll(None, None)
        sleep(self.settle_seconds + 0.05)
        return events + self._poll(None, None)

    def run(self, stop: threading.Event, interval: float = 1.0,
            on_event: Callable[[WatchEvent], None] | None = None,
            on_problem: Callable[[str | None], None] | None = None) -> None:
        """Poll until `stop` is set. A problem with the folder or the database (the folder
        deleted, the database locked) is logged and passed to `on_problem` once when it
        appears or changes, with its text, and once with None when it has cleared; polling
        goes on meanwhile. The work in progress, when cancelled, is left for the next start
        and run() returns once `stop` is set."""
        while not stop.is_set():
            if not self.step(stop, on_event, on_problem):
                return
            stop.wait(interval)

    def step(self, stop: threading.Event,
             on_event: Callable[[WatchEvent], None] | None = None,
             on_problem: Callable[[str | None], None] | None = None) -> bool:
        """One look of run() (engine.watch.several polls several folders with it); False
        when the work in progress was cancelled because `stop` is set."""
        try:
            self._poll(stop, on_event)
            if self._problem is not None:
                log.info("the watch folder %s can be read again", self.folder)
                self._problem = None
                if on_problem is not None:
                    on_problem(None)
        except Cancelled:
            if stop.is_set():
                return False
            raise
        except (EngineError, OSError, sqlite3.Error) as exc:
            text = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            if text != self._problem:
                log.warning("the watcher of %s cannot go on for now: %s", self.folder, text)
                self._problem = text
                if on_problem is not None:
                    on_problem(text)
        return True
