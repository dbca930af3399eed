"""What every page gets: the workspace, the job runner and the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from gui.settings import Settings
from gui.workers import Job, Jobs


@dataclass(slots=True)
class AppContext:
    workspace: Path
    jobs: Jobs
    settings: Settings = field(default_factory=Settings)

    def run(self, name: str, fn, *args: Any, **callbacks: Any) -> Job:
        """Run ``fn(*args, progress=..., cancel=...)`` as a background job; ``callbacks`` are
        Jobs.start's ``on_progress`` / ``on_finished`` / ``on_failed`` / ``on_cancelled``."""
        return self.jobs.start(partial(fn, *args), name, **callbacks)
