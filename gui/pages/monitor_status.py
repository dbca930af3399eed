"""The Monitor page's watch status: always one line. The label keeps the whole text (its
`text()` and tooltip) and paints it elided to its width, so a long failure never grows into a
paragraph that squeezes the alarm table; in the failure colour when a file failed or the
watcher cannot go on, green while it runs without trouble, grey when off."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy

from gui.colors import GREEN, MUTED, RED

MIN_WIDTH = 120


class OneLineLabel(QLabel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWordWrap(False)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setTextFormat(Qt.TextFormat.PlainText)

    def setText(self, text: str) -> None:
        one_line = " ".join(str(text).split())
        super().setText(one_line)
        self.setToolTip(str(text))

    def shown_text(self) -> str:
        """What is painted: the text elided to the label's width."""
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight,
                                             max(0, self.contentsRect().width()))

    def minimumSizeHint(self) -> QSize:
        return QSize(MIN_WIDTH, self.fontMetrics().height())

    def sizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance(self.text()),
                     self.fontMetrics().height())

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.setFont(self.font())
        painter.drawText(self.contentsRect(), int(Qt.AlignmentFlag.AlignLeft
                                                  | Qt.AlignmentFlag.AlignVCenter),
                         self.shown_text())
        painter.end()


def status_color(status) -> str:
    """RED when the watcher cannot go on or a file failed, GREEN running, MUTED otherwise."""
    if status.state == "failed" or (status.state == "running" and status.failed):
        return RED.name()
    return GREEN.name() if status.state == "running" else MUTED
