"""Hooks that long operations take: a progress callback and a cancel token."""

from __future__ import annotations

import threading
from collections.abc import Callable

from engine.errors import Cancelled

Progress = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:
    """The default progress hook: ignore."""


class CancelToken:
    """Set from any thread (the GUI's Cancel button); checked by the work at step boundaries."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()
