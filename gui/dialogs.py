"""Yes/no confirmations and the report file chooser, in one place (tests replace
QMessageBox.question, QFileDialog or these functions)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget


def confirm(parent: QWidget | None, title: str, text: str) -> bool:
    """Ask before a change; No is the default, so a stray Enter changes nothing."""
    buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
    answer = QMessageBox.question(parent, title, text, buttons, QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def choose_report_path(parent: QWidget | None, title: str, start: Path) -> Path | None:
    """Where to export an HTML report (None: the operator cancelled); ".html" is added when
    the name has no HTML suffix."""
    path, _ = QFileDialog.getSaveFileName(parent, title, str(start), "HTML files (*.html)")
    if not path:
        return None
    path = Path(path)
    return path if path.suffix.lower() in (".html", ".htm") else path.with_name(path.name + ".html")
