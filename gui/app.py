"""Builds and runs the desktop application (more set-up arrives with the app-shell issue)."""

from __future__ import annotations

import logging

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from gui.main_window import MainWindow

log = logging.getLogger(__name__)


def run_app(argv: list[str], smoke_seconds: float | None = None, status: str | None = None
            ) -> int:
    """Show the main window and run the event loop; return the process exit code.

    With ``smoke_seconds`` the app quits by itself after that long, exit code 0.
    """
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = QApplication.instance() or QApplication(argv)
    app.setApplicationName("Ratchet")
    app.setOrganizationName("Ratchet")

    window = MainWindow()
    if status:
        window.model_status.setText(status)
    window.show()
    if smoke_seconds is not None:
        log.info("smoke run: quitting after %s s", smoke_seconds)
        QTimer.singleShot(int(smoke_seconds * 1000), app.quit)
    return app.exec()
