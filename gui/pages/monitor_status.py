"""The Monitor page's watch status: always one line. The label keeps the whole text (its
`text()` and tooltip) and paints it elided to its width, so a long failure never grows into a
paragraph that squeezes the alarm table; in the failure colour when a file failed or the
watcher cannot go on, green while it runs without trouble, grey when off."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QLabel, QSizePolicy

from gui.colors import GREEN, MUTED, RED

MIN_WIDTH = 120


class OneLineLabel(QLabel):
    """QLabel paints what `shown_text` gives, set again on every resize; `text()` is the whole
    text. Nothing here names Qt's namespace until a text needs it (eliding, or a text that
    could read as rich text): the status bar shows this label in the window's first frame,
    and the namespace's first use builds its ~100 enums, about 15 ms of that start (issue
    16)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._whole = ""
        self.setWordWrap(False)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def setText(self, text: str) -> None:
        self._whole = " ".join(str(text).split())
        if "<" in self._whole:  # QLabel's automatic format would take a tag for rich text
            from PySide6.QtCore import Qt

            self.setTextFormat(Qt.TextFormat.PlainText)
        self.setToolTip(str(text))
        self._show_fitting()
        self.updateGeometry()

    def text(self) -> str:
        return self._whole

    def shown_text(self) -> str:
        """What is painted: the text elided to the label's width (as it is when it fits)."""
        width = max(0, self.contentsRect().width())
        if self.fontMetrics().horizontalAdvance(self._whole) <= width:
            return self._whole
        from PySide6.QtCore import Qt

        return self.fontMetrics().elidedText(self._whole, Qt.TextElideMode.ElideRight, width)

    def _show_fitting(self) -> None:
        super().setText(self.shown_text())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._show_fitting()

    def minimumSizeHint(self) -> QSize:
        return QSize(MIN_WIDTH, self.fontMetrics().height())

    def sizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance(self._whole),
                     self.fontMetrics().height())


def status_color(status) -> str:
    """RED when the watcher cannot go on or a file failed, GREEN running, MUTED otherwise."""
    if status.state == "failed" or (status.state == "running" and status.failed):
        return RED.name()
    return GREEN.name() if status.state == "running" else MUTED
