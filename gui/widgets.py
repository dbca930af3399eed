"""Small widgets the pages share."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.colors import MUTED_STYLE

STEPS = 1000  # QProgressBar takes ints; fractions are shown to 0.1 %


def page_header(title: str, subtitle: str) -> tuple[QWidget, QLabel]:
    """A page's title and a one-line explanation (returned too, so pages can update it)."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 4)
    layout.setSpacing(2)
    heading = QLabel(title)
    font = heading.font()
    font.setPointSizeF(font.pointSizeF() * 1.5)
    font.setBold(True)
    heading.setFont(font)
    sub = QLabel(subtitle)
    sub.setWordWrap(True)
    sub.setStyleSheet(MUTED_STYLE)
    layout.addWidget(heading)
    layout.addWidget(sub)
    return box, sub


class ProgressPanel(QWidget):
    """A progress bar, its message, and a Cancel button; hidden while nothing runs."""

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setRange(0, STEPS)
        self.bar.setTextVisible(True)
        self.message = QLabel()
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_requested)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.bar, 2)
        row.addWidget(self.message, 3)
        row.addWidget(self.cancel_button)

    def start(self, message: str, busy: bool = False) -> None:
        """busy: the work reports no fraction (an endless bar)."""
        self.bar.setRange(0, 0 if busy else STEPS)
        self.bar.setValue(0)
        self.message.setText(message)
        self.cancel_button.setEnabled(True)
        self.show()

    def set_progress(self, fraction: float, message: str) -> None:
        if self.bar.maximum():
            self.bar.setValue(round(max(0.0, min(1.0, fraction)) * STEPS))
        if message:
            self.message.setText(message)

    def cancelling(self) -> None:
        self.cancel_button.setEnabled(False)
        self.message.setText("Cancelling…")

    def stop(self) -> None:
        self.hide()
