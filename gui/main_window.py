"""The main window: for now an empty shell; the pages arrive with later issues."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox

NO_MODEL_MESSAGE = "No model is active yet."


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Ratchet")
        self.resize(960, 640)

        placeholder = QLabel(
            "<h2>Ratchet</h2>"
            "<p>No model is active yet.</p>"
            "<p>The app's pages are under construction.</p>"
        )
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        placeholder.setTextFormat(Qt.TextFormat.RichText)
        self.setCentralWidget(placeholder)

        file_menu = self.menuBar().addMenu("&File")
        quit_action = file_menu.addAction("&Quit")
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction("&About Ratchet").triggered.connect(self._about)

        # A permanent widget, not showMessage(): menu hover tips would wipe a temporary message.
        self.model_status = QLabel(NO_MODEL_MESSAGE)
        self.statusBar().addWidget(self.model_status)

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "About Ratchet",
            "Ratchet puts small predictive models into production on a few workstations "
            "and keeps them honest there.",
        )
