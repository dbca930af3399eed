"""Several watch folders in one loop: each folder's FolderWatcher is polled in turn, so one
thread (the app's) or one process (`ratchet watch` with no FOLDER) watches them all. A problem
with one folder (deleted, unreadable) is reported for that folder and never stops the others.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from engine.watch.watcher import FolderWatcher, WatchEvent


class SeveralWatchers:
    def __init__(self, watchers: list[FolderWatcher]):
        self.watchers = list(watchers)

    def poll_once(self) -> list[WatchEvent]:
        return [event for w in self.watchers for event in w.poll_once()]

    def drain(self, sleep: Callable[[float], None] = time.sleep) -> list[WatchEvent]:
        """FolderWatcher.drain for every folder, waiting the settle time once."""
        if not self.watchers:
            return []
        events = self.poll_once()
        sleep(max(w.settle_seconds for w in self.watchers) + 0.05)
        return events + self.poll_once()

    def run(self, stop: threading.Event, interval: float = 1.0,
            on_event: Callable[[WatchEvent], None] | None = None,
            on_problem: Callable[[FolderWatcher, str | None], None] | None = None) -> None:
        """FolderWatcher.run over every folder: poll each in turn until `stop` is set;
        `on_problem(watcher, text or None)` as FolderWatcher.run's, per folder."""
        while not stop.is_set():
            for watcher in self.watchers:
                report = None if on_problem is None else (
                    lambda text, w=watcher: on_problem(w, text))
                if stop.is_set() or not watcher.step(stop, on_event, report):
                    return
            stop.wait(interval)
