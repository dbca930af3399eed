"""The work behind the Settings page's watch-folder table, run as a job: the settings with the
ids of the installed models (the choices a folder can be bound to)."""

from __future__ import annotations

from pathlib import Path

from engine.progress import CancelToken, Progress


def describe_with_models(workspace: Path, *, progress: Progress,
                         cancel: CancelToken) -> tuple[list[dict], list[str]]:
    """(every setting as describe_settings gives it, the installed model ids)."""
    from engine.ground.settings import describe_settings
    from engine.ground.watch_folders import installed_models

    return describe_settings(Path(workspace)), installed_models(Path(workspace))
