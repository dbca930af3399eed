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


HTML_FILTER = "HTML files (*.html)"
PDF_FILTER = "PDF files (*.pdf)"
REPORT_SUFFIXES = (".html", ".htm", ".pdf")


def choose_report_path(parent: QWidget | None, title: str, start: Path) -> Path | None:
    """Where to export a report, and so as what (None: the operator cancelled): the name's
    suffix decides, .html (or .htm) for the page, .pdf for the same report as PDF; a name with
    neither gets the suffix of the filter chosen. ``start`` ending in .pdf offers PDF first."""
    pdf_first = Path(start).suffix.lower() == ".pdf"
    filters = [PDF_FILTER, HTML_FILTER] if pdf_first else [HTML_FILTER, PDF_FILTER]
    path, chosen = QFileDialog.getSaveFileName(parent, title, str(start), ";;".join(filters),
                                               filters[0])
    if not path:
        return None
    path = Path(path)
    if path.suffix.lower() in REPORT_SUFFIXES:
        return path
    pdf = chosen == PDF_FILTER or (not chosen and pdf_first)
    return path.with_name(path.name + (".pdf" if pdf else ".html"))
