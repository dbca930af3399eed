"""A small line chart drawn with QPainter (PySide6-Essentials has no QtCharts).

Categories along x (e.g. back-test partitions), one line with markers per series, a legend
above the plot, optional dashed horizontal reference lines (requirements) with their labels,
and a y axis with round ticks. Missing values (None or NaN) leave a gap in their line.
Hovering a point shows its series, category and value::

    chart = LineChart()
    chart.set_data(["2013-07", "2013-08"], {"demo@1": [0.91, 0.87], "demo@2": [0.93, None]},
                   lines=[("roc_auc min 0.92", 0.92)], y_label="roc_auc")
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFontMetrics,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from gui.colors import RED

# Colour-blind-safe and distinct on white (Okabe-Ito, led by a strong blue for the champion).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000",
           "#999999")
LINE_COLOR = RED  # reference lines: the app's "failed" red
GRID = QColor("#E4E4E4")
AXIS = QColor("#8A8A8A")
TEXT = QColor("#333333")
MARKER_RADIUS = 4.0
HOVER_DISTANCE = 10.0
PAD = 8


@dataclass(frozen=True, slots=True)
class Point:
    series: str
    index: int
    value: float
    at: QPointF


@dataclass(frozen=True, slots=True)
class Geometry:
    """Where everything goes at one widget size (what paintEvent draws; tests read it)."""

    plot: QRectF
    y_min: float
    y_max: float
    ticks: list[float]
    decimals: int
    shown_labels: list[int]  # indices of the categories whose label fits
    legend_rows: list[list[tuple[str, float]]]  # (series, x) per row


def _finite(value) -> bool:
    return value is not None and math.isfinite(value)


# Metrics that live in [0, 1] (engine.metrics): their axis never runs past either end.
UNIT_METRICS = frozenset({"accuracy", "precision", "recall", "f1", "false_positive_rate",
                          "roc_auc", "brier", "agreement"})


def unit_bounded(y_label: str) -> bool:
    """Whether the axis labelled ``y_label`` shows a metric bounded by 0 and 1."""
    name = y_label.strip().split(" ")[0].lower() if y_label.strip() else ""
    return name in UNIT_METRICS


def nice_ticks(low: float, high: float, count: int = 5) -> tuple[list[float], int]:
    """Round tick values (steps of 1, 2 or 5 times a power of ten) covering [low, high], and
    how many decimals they need."""
    if not (math.isfinite(low) and math.isfinite(high)):
        low, high = 0.0, 1.0
    if high - low <= 0:
        pad = abs(low) * 0.05 or 0.5
        low, high = low - pad, high + pad
    raw = (high - low) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    n = round((last - first) / step)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return [round(first + i * step, decimals + 2) for i in range(n + 1)], decimals


class LineChart(QWidget):
    """See the module docstring. ``set_data`` replaces everything; ``clear`` shows a message."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.categories: list[str] = []
        self.series: dict[str, list[float | None]] = {}
        self.lines: list[tuple[str, float]] = []
        self.y_label = ""
        self.message = ""
        self._points: list[Point] = []
        self.setMouseTracking(True)
        self.setMinimumSize(360, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAutoFillBackground(False)

    # -- the API ---------------------------------------------------------------------------
    def set_data(self, categories: Sequence[str], series: dict[str, Sequence[float | None]],
                 lines: Sequence[tuple[str, float]] = (), y_label: str = "") -> None:
        """``series`` maps a name to one value per category (None for none); ``lines`` are
        (label, y) reference lines drawn dashed across the plot."""
        categories = [str(c) for c in categories]
        for name, values in series.items():
            if len(values) != len(categories):
                raise ValueError(f"series {name!r} has {len(values)} values for "
                                 f"{len(categories)} categories")
        self.categories = categories
        self.series = {str(k): [float(v) if _finite(v) else None for v in values]
                       for k, values in series.items()}
        self.lines = [(str(label), float(y)) for label, y in lines if _finite(y)]
        self.y_label = y_label
        self.message = ""
        self._points = []
        self.update()

    def clear(self, message: str = "") -> None:
        """No data; ``message`` is shown in the middle instead."""
        self.categories, self.series, self.lines, self.y_label = [], {}, [], ""
        self.message = message
        self._points = []
        self.update()

    def color_of(self, series: str) -> QColor:
        names = list(self.series)
        return QColor(PALETTE[names.index(series) % len(PALETTE)])

    def sizeHint(self) -> QSize:
        return QSize(700, 300)

    # -- layout ----------------------------------------------------------------------------
    def _y_range(self) -> tuple[list[float], int]:
        values = [v for vs in self.series.values() for v in vs if v is not None]
        values += [y for _, y in self.lines]
        if not values:
            return nice_ticks(0.0, 1.0)
        low, high = min(values), max(values)
        pad = (high - low) * 0.08
        low, high = low - pad, high + pad
        if unit_bounded(self.y_label) and min(values) >= 0.0 and max(values) <= 1.0:
            low, high = max(0.0, low), min(1.0, high)  # roc_auc never reaches 1.2
            if high - low < 1e-9:  # a flat series at an end: a little room inside [0, 1]
                low, high = max(0.0, low - 0.05), min(1.0, high + 0.05)
        return nice_ticks(low, high)

    def geometry_for(self, width: float, height: float) -> Geometry:
        fm = QFontMetrics(self.font())
        line_h = fm.height()
        ticks, decimals = self._y_range()
        tick_w = max(fm.horizontalAdvance(f"{t:.{decimals}f}") for t in ticks)

        # The legend: entries left to right, wrapping onto more rows when needed.
        rows: list[list[tuple[str, float]]] = [[]]
        x = PAD
        for name in self.series:
            w = 26 + fm.horizontalAdvance(name) + 18
            if rows[-1] and x + w > width - PAD:
                rows.append([])
                x = PAD
            rows[-1].append((name, x))
            x += w
        legend_h = (line_h + 6) * len(rows) if self.series else 0

        left = PAD + (line_h + 6 if self.y_label else 0) + tick_w + 8
        right = width - PAD - 4
        top = PAD + legend_h + line_h // 2
        bottom = height - PAD - line_h - 6
        plot = QRectF(left, top, max(10.0, right - left), max(10.0, bottom - top))

        shown: list[int] = []
        n = len(self.categories)
        if n:
            slot = plot.width() / n
            widest = max(fm.horizontalAdvance(c) for c in self.categories) + 10
            every = max(1, math.ceil(widest / slot))
            shown = list(range(0, n, every))
        return Geometry(plot, ticks[0], ticks[-1], ticks, decimals, shown, rows)

    def _x(self, g: Geometry, i: int) -> float:
        return g.plot.left() + (i + 0.5) * g.plot.width() / max(1, len(self.categories))

    def _y(self, g: Geometry, value: float) -> float:
        span = (g.y_max - g.y_min) or 1.0
        return g.plot.bottom() - (value - g.y_min) / span * g.plot.height()

    # -- painting --------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("white"))
        if not self.categories:
            p.setPen(AXIS)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       self.message)
            p.end()
            return
        g = self.geometry_for(self.width(), self.height())
        self._draw_axes(p, g)
        self._draw_lines(p, g)
        self._draw_series(p, g)
        self._draw_legend(p, g)
        p.end()

    def _draw_axes(self, p: QPainter, g: Geometry) -> None:
        fm = p.fontMetrics()
        plot = g.plot
        for t in g.ticks:
            y = self._y(g, t)
            p.setPen(QPen(GRID, 1))
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            p.setPen(TEXT)
            text = f"{t:.{g.decimals}f}"
            p.drawText(QRectF(plot.left() - 6 - 200, y - fm.height() / 2, 200, fm.height()),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
        p.setPen(QPen(AXIS, 1))
        p.drawLine(plot.bottomLeft(), plot.bottomRight())
        p.drawLine(plot.bottomLeft(), plot.topLeft())
        for i in g.shown_labels:
            x = self._x(g, i)
            p.setPen(QPen(AXIS, 1))
            p.drawLine(QPointF(x, plot.bottom()), QPointF(x, plot.bottom() + 4))
            p.setPen(TEXT)
            width = fm.horizontalAdvance(self.categories[i]) + 6
            left = min(max(x - width / 2, 0.0), self.width() - width)  # never clipped
            p.drawText(QRectF(left, plot.bottom() + 5, width, fm.height()),
                       Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                       self.categories[i])
        if self.y_label:
            p.save()
            p.setPen(TEXT)
            p.translate(PAD + fm.height() / 2 + 1, plot.center().y())
            p.rotate(-90)
            p.drawText(QRectF(-plot.height() / 2, -fm.height() / 2, plot.height(),
                              fm.height()), Qt.AlignmentFlag.AlignCenter, self.y_label)
            p.restore()

    def _draw_lines(self, p: QPainter, g: Geometry) -> None:
        fm = p.fontMetrics()
        pen = QPen(LINE_COLOR, 1.5, Qt.PenStyle.DashLine)
        for label, value in self.lines:
            y = self._y(g, value)
            p.setPen(pen)
            p.drawLine(QPointF(g.plot.left(), y), QPointF(g.plot.right(), y))
            text_w = fm.horizontalAdvance(label) + 8
            box = QRectF(g.plot.right() - text_w - 2, y - fm.height() - 1, text_w, fm.height())
            if box.top() < g.plot.top():  # no room above the line: write it below
                box.moveTop(y + 2)
            p.fillRect(box, QColor(255, 255, 255, 200))
            p.setPen(LINE_COLOR)
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, label)

    def _draw_series(self, p: QPainter, g: Geometry) -> None:
        self._points = []
        for name, values in self.series.items():
            color = self.color_of(name)
            path = QPainterPath()
            pen_down = False
            points = []
            for i, v in enumerate(values):
                if v is None:
                    pen_down = False
                    continue
                at = QPointF(self._x(g, i), self._y(g, v))
                if pen_down:
                    path.lineTo(at)
                else:
                    path.moveTo(at)
                    pen_down = True
                points.append(Point(name, i, v, at))
            p.setPen(QPen(color, 2.2, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                          Qt.PenJoinStyle.RoundJoin))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPath(path)
            p.setPen(QPen(QColor("white"), 1.2))
            p.setBrush(color)
            for pt in points:
                p.drawEllipse(pt.at, MARKER_RADIUS + 0.5, MARKER_RADIUS + 0.5)
            self._points.extend(points)

    def _draw_legend(self, p: QPainter, g: Geometry) -> None:
        fm = p.fontMetrics()
        row_h = fm.height() + 6
        for r, row in enumerate(g.legend_rows):
            y = PAD + r * row_h + row_h / 2
            for name, x in row:
                color = self.color_of(name)
                p.setPen(QPen(color, 2.2))
                p.drawLine(QPointF(x, y), QPointF(x + 20, y))
                p.setPen(QPen(QColor("white"), 1.2))
                p.setBrush(color)
                p.drawEllipse(QPointF(x + 10, y), MARKER_RADIUS + 0.5, MARKER_RADIUS + 0.5)
                p.setPen(TEXT)
                p.drawText(QRectF(x + 26, y - row_h / 2, fm.horizontalAdvance(name) + 4,
                                  row_h), Qt.AlignmentFlag.AlignVCenter, name)

    # -- hovering --------------------------------------------------------------------------
    def point_near(self, pos: QPointF) -> Point | None:
        """The drawn point closest to ``pos`` within a few pixels, or None."""
        best, best_d = None, HOVER_DISTANCE
        for pt in self._points:
            d = math.hypot(pt.at.x() - pos.x(), pt.at.y() - pos.y())
            if d <= best_d:
                best, best_d = pt, d
        return best

    def tooltip_at(self, pos: QPointF) -> str | None:
        pt = self.point_near(pos)
        if pt is None:
            return None
        return f"{pt.series}\n{self.categories[pt.index]}: {pt.value:.4f}"

    def points(self) -> list[Point]:
        """The points as last drawn (empty until the chart has been painted)."""
        return list(self._points)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        text = self.tooltip_at(event.position())
        if text:
            QToolTip.showText(event.globalPosition().toPoint(), text, self)
        else:
            QToolTip.hideText()
        super().mouseMoveEvent(event)
