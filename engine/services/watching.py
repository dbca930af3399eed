"""The watch folders at work: one FolderWatcher per configured folder (the setting
`watch.folders`, plus `watch.folder`; engine.ground.watch_folders), each file now-tested with
its folder's bound model -- or the model its header fits where none is bound -- through
engine.services.nowtest, and each failure raised as its folder's "watch" alarm. Shared by
`ratchet watch` and the app's background watcher (gui/watching.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from engine.ground.watch_folders import WatchBinding, watch_bindings
from engine.progress import CancelToken, Progress, no_progress
from engine.watch.several import SeveralWatchers
from engine.watch.watcher import FolderWatcher


def configured_bindings(root) -> tuple[list[WatchBinding], float]:
    """(every folder to watch with its model, the settle time) from the settings."""
    from engine.ground.settings import load_settings

    settings = load_settings(root)
    return watch_bindings(settings), float(settings.get("watch.settle_seconds") or 0.0)


def folder_watcher(root, binding: WatchBinding, source: str, cancel: CancelToken,
                   settle_seconds: float,
                   progress_for: Callable[[Path], Progress] | None = None,
                   must_exist: bool = True) -> FolderWatcher:
    """The watcher of one folder: its files now-tested with its model (see the module).
    must_exist=False: a missing folder is reported while watching, not refused at once."""
    from engine.services.nowtest import alarm_watch_failure, nowtest_and_alarm

    def process(path: Path):
        progress = progress_for(path) if progress_for is not None else no_progress
        return nowtest_and_alarm(root, path, binding.model, source=source, progress=progress,
                                 cancel=cancel, watch_folder=watcher.folder)

    def on_failure(path: Path, error: str, code: str | None):
        return alarm_watch_failure(root, watcher.folder, path, error, code, binding.model)

    watcher = FolderWatcher(root, binding.folder, process, settle_seconds=settle_seconds,
                            on_failure=on_failure, model=binding.model,
                            must_exist=must_exist)
    return watcher


def watch_all(root, bindings: list[WatchBinding], source: str, cancel: CancelToken,
              settle_seconds: float,
              progress_for: Callable[[Path], Progress] | None = None) -> SeveralWatchers:
    """One watcher per folder, polled together. One folder alone must exist (else
    E_WATCH_FOLDER at once, as ever); of several, a missing one is reported while the others
    are watched."""
    several = len(bindings) > 1
    return SeveralWatchers([folder_watcher(root, b, source, cancel, settle_seconds,
                                           progress_for, must_exist=not several)
                            for b in bindings])
