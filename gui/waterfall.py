"""A waterfall chart of one row's explanation, drawn with QPainter: from the model's base value,
each input's contribution as a bar that moves the score up or down, to the row's score.

One bar per input (strongest first, at most ``shown``; the rest summed as "N other inputs"),
each labelled with the input and its value on the left and the signed contribution on the
right; a thin line marks the base value and another the final score::

    chart = WaterfallChart()
    chart.set_data(base=-1.2, items=[("dep_delay = 45", 1.31), ("origin = EWR", 0.2)],
                   score=0.31, unit="log-odds")
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

UP = QColor("#c0392b")  # pushes the score up
DOWN = QColor("#2471a3")  # pushes it down
ROW_HEIGHT = 24
MARGIN = 8


def contribution_text(value: float) -> str:
    return f"{value:+.3g}" if abs(value) < 0.001 else f"{value:+.3f}"


def collapse(items: Sequence[tuple[str, float]], shown: int) -> list[tuple[str, float]]:
    """The ``shown`` strongest items by size, the rest summed into one "N other inputs"."""
    ranked = sorted(items, key=lambda item: -abs(item[1]))
    if len(ranked) <= shown:
        return ranked
    rest = ranked[shown - 1:]
    return [*ranked[:shown - 1], (f"{len(rest)} other inputs", sum(v for _, v in rest))]


class WaterfallChart(QWidget):
    def __init__(self, parent: QWidget | None = None, shown: int = 10):
        super().__init__(parent)
        self.shown = shown
        self.base = 0.0
        self.score = 0.0
        self.unit = ""
        self.items: list[tuple[str, float]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_data(self, base: float, items: Sequence[tuple[str, float]], score: float,
                 unit: str = "") -> None:
        self.base, self.score, self.unit = float(base), float(score), unit
        self.items = collapse(items, self.shown)
        self.setFixedHeight(self.sizeHint().height())  # every bar whole; a scroll area holds it
        self.update()

    def clear(self) -> None:
        self.items = []
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(520, MARGIN * 2 + ROW_HEIGHT * (len(self.items) + 2))

    def minimumSizeHint(self) -> QSize:
        return QSize(320, self.sizeHint().height())

    def steps(self) -> list[tuple[str, float, float]]:
        """(label, start, end) of each bar, in order from the base value."""
        out, at = [], self.base
        for label, value in self.items:
            out.append((label, at, at + value))
            at += value
        return out

    def paintEvent(self, _event: QPaintEvent) -> None:
        if not self.items:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = QFontMetrics(self.font())
        steps = self.steps()
        label_width = min(self.width() // 2,
                          max(metrics.horizontalAdvance(label) for label, *_ in steps) + 12)
        value_width = metrics.horizontalAdvance("+0.0000") + 12
        left = label_width
        right = max(left + 40, self.width() - value_width - MARGIN)
        ends = [self.base, self.score] + [v for _, a, b in steps for v in (a, b)]
        low, high = min(ends), max(ends)
        span = (high - low) or 1.0

        def x(value: float) -> float:
            return left + (value - low) / span * (right - left)

        text_pen = QPen(self.palette().color(self.foregroundRole()))
        y = MARGIN
        p.setPen(text_pen)
        p.drawText(QRectF(0, y, left - 8, ROW_HEIGHT), Qt.AlignmentFlag.AlignRight
                   | Qt.AlignmentFlag.AlignVCenter, "average (base)")
        p.drawText(QRectF(right + 6, y, value_width, ROW_HEIGHT),
                   Qt.AlignmentFlag.AlignVCenter, f"{self.base:.3f}")
        y += ROW_HEIGHT
        for label, start, end in steps:
            color = UP if end >= start else DOWN
            bar = QRectF(min(x(start), x(end)), y + 4, max(1.5, abs(x(end) - x(start))),
                         ROW_HEIGHT - 8)
            p.fillRect(bar, color)
            p.setPen(text_pen)
            shown = metrics.elidedText(label, Qt.TextElideMode.ElideMiddle, left - 10)
            p.drawText(QRectF(0, y, left - 8, ROW_HEIGHT), Qt.AlignmentFlag.AlignRight
                       | Qt.AlignmentFlag.AlignVCenter, shown)
            p.setPen(QPen(color))
            p.drawText(QRectF(right + 6, y, value_width, ROW_HEIGHT),
                       Qt.AlignmentFlag.AlignVCenter, contribution_text(end - start))
            y += ROW_HEIGHT
        p.setPen(text_pen)
        p.drawText(QRectF(0, y, left - 8, ROW_HEIGHT), Qt.AlignmentFlag.AlignRight
                   | Qt.AlignmentFlag.AlignVCenter, "this row")
        p.drawText(QRectF(right + 6, y, value_width, ROW_HEIGHT),
                   Qt.AlignmentFlag.AlignVCenter, f"{self.score:.3f}")
        guide = QPen(self.palette().color(self.foregroundRole()))
        guide.setStyle(Qt.PenStyle.DashLine)
        p.setPen(guide)
        p.drawLine(int(x(self.base)), MARGIN, int(x(self.base)), y)
        p.drawLine(int(x(self.score)), MARGIN + ROW_HEIGHT, int(x(self.score)), y + ROW_HEIGHT)
        p.end()
