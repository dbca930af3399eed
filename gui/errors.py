"""The one error dialog of the app: :func:`show_exception`.

- ``BundleRejected``: the plain verdict as a headline, the detail below it, the code in Details.
- any other ``EngineError``: its plain message, the code in Details.
- anything else is a bug: a short message, the traceback folded under Details, and where the
  log file is.

Pages call it as ``errors.show_exception(...)`` (through the module), so tests can replace it.
"""

from __future__ import annotations

import html
import logging
import traceback

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from engine.errors import BundleRejected, EngineError

log = logging.getLogger(__name__)


def _headline(text: str) -> str:
    return f"<p style='font-size:large; font-weight:600'>{html.escape(text, quote=False)}</p>"


def _code_details(exc: EngineError) -> str:
    return f"Code: {exc.code}\nError type: {type(exc).__name__}\n\n{exc.message}"


def error_box(parent: QWidget | None, exc: BaseException) -> QMessageBox:
    """The dialog for ``exc``, not yet shown (tests read it without running it)."""
    box = QMessageBox(parent)
    box.setTextFormat(Qt.TextFormat.RichText)
    if isinstance(exc, BundleRejected):
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Bundle refused")
        box.setText(_headline(exc.headline))
        box.setInformativeText(html.escape(exc.detail, quote=False))
        box.setDetailedText(_code_details(exc))
    elif isinstance(exc, EngineError):
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Ratchet")
        box.setText(_headline(exc.message[:1].upper() + exc.message[1:]))
        box.setDetailedText(_code_details(exc))
    else:
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle("Unexpected error")
        box.setText(_headline("Ratchet hit an unexpected problem."))
        from gui import logs  # logging.handlers: not on the way to the first window

        where = logs.log_file()
        logged = f" The details were also written to {where}." if where else ""
        box.setInformativeText(html.escape(
            f"{type(exc).__name__}: {exc}. This is a bug in Ratchet; nothing you did caused it. "
            f"Please send the details below to whoever supports Ratchet here.{logged}"))
        box.setDetailedText("".join(traceback.format_exception(exc)))
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    return box


def show_exception(parent: QWidget | None, exc: BaseException) -> None:
    """Log ``exc`` and show it in a modal dialog."""
    if isinstance(exc, EngineError):
        log.warning("shown to the user: %s [%s]", exc.message, exc.code)
    else:
        log.error("unexpected error shown to the user", exc_info=exc)
    error_box(parent, exc).exec()
