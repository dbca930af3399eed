"""What every page gets: the workspace, the job runner and the settings.

:meth:`AppContext.run` is the one way a page starts background work (the model: Anki's
``CollectionOp``): one call with the engine function and its arguments, the UI-thread callbacks
it cares about, and a failure that goes to the one error dialog unless the caller says
otherwise. A forgotten failure handler can no longer leave an error logged at DEBUG only.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QApplication, QWidget

from gui.settings import Settings
from gui.workers import Job, Jobs


def show_failure(parent: QWidget | None, exc: BaseException) -> None:
    """The default failure path: the error dialog, over ``parent`` or the active window."""
    from gui import errors  # the dialog's module, when there is one to show (issue 16)

    errors.show_exception(parent if parent is not None else QApplication.activeWindow(), exc)


@dataclass(slots=True)
class AppContext:
    workspace: Path
    jobs: Jobs
    settings: Settings = field(default_factory=Settings)

    def run(self, name: str, fn, *args: Any, key: Hashable | None = None,
            parent: QWidget | None = None,
            on_progress: Callable[[float, str], None] | None = None,
            on_finished: Callable[[Any], None] | None = None,
            on_failed: Callable[[BaseException], None] | None = None,
            on_cancelled: Callable[[], None] | None = None) -> Job:
        """Run ``fn(*args, progress=..., cancel=...)`` as a background job; the callbacks run
        on the UI thread. Without ``on_failed`` a failure is shown by
        :func:`gui.errors.show_exception` (over ``parent``, else the active window). With
        ``key`` the job supersedes a stale one (see gui.workers)."""
        return self.jobs.start(partial(fn, *args), name, key=key, on_progress=on_progress,
                               on_finished=on_finished,
                               on_failed=on_failed or partial(show_failure, parent),
                               on_cancelled=on_cancelled)
