"""Uncaught exceptions end in the app's error dialog, from whichever thread they come.

``sys.excepthook`` (PySide calls it for exceptions escaping a slot) and ``threading.excepthook``
(Python threads) both hand the exception to a relay object living on the UI thread, through a
queued signal: the dialog is always built on the UI thread, after the failing code has unwound.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)


class ExceptionRelay(QObject):
    raised = Signal(object)

    def __init__(self, parent_widget: Callable[[], QWidget | None]):
        super().__init__()
        self._parent_widget = parent_widget
        self._showing = False
        self.raised.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def sys_hook(self, exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.error("uncaught exception", exc_info=(exc_type, exc, tb))
        self.raised.emit(exc)

    def thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread else "?"
        log.error("uncaught exception in thread %s", name,
                  exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
        if args.exc_value is not None:
            self.raised.emit(args.exc_value)

    @Slot(object)
    def _show(self, exc: BaseException) -> None:
        if self._showing:  # one dialog at a time; the rest are in the log
            return
        self._showing = True
        from gui import errors  # the dialog's module, when there is one to show (issue 16)

        try:
            errors.show_exception(self._parent_widget(), exc)
        finally:
            self._showing = False


def install_excepthooks(parent_widget: Callable[[], QWidget | None]) -> ExceptionRelay:
    """Route uncaught exceptions to the error dialog; keep the returned relay alive."""
    relay = ExceptionRelay(parent_widget)
    sys.excepthook = relay.sys_hook
    threading.excepthook = relay.thread_hook
    return relay
