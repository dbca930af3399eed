"""Small multiples of a run's segments (issue 18): for a back-test, one small chart per segment
(worst first, at most ``SHOWN``) of the ranked metric per partition with its bound; for a
now-test, one chart of the metric per segment with the bound. The engine's SegmentTable is
drawn as it is; nothing is computed here."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from engine.formats.segments import OTHER, SegmentTable
from gui.charts import LineChart

SHOWN = 8
COLUMNS = 4


class SmallChart(LineChart):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(160, 120)  # four abreast fit a narrow window (LineChart: 360)

    def sizeHint(self) -> QSize:
        return QSize(240, 150)

    def minimumSizeHint(self) -> QSize:
        return QSize(160, 120)


def segment_name(s) -> str:
    return f"other ({s.values})" if s.value == OTHER else s.value


class SegmentCharts(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.charts: list[LineChart] = []

    def _clear(self) -> None:
        while self.grid.count():
            widget = self.grid.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.charts = []

    def show_table(self, table: SegmentTable | None) -> None:
        self._clear()
        if table is None or not table.segments:
            self.setVisible(False)
            return
        lines = [(f"{name} {bound:g}", bound) for metric, name, bound in table.bounds
                 if metric == table.metric]
        partitions = sorted({p for s in table.segments for p in s.by_partition})
        if partitions:  # a back-test: one small chart per segment, over the partitions
            for i, s in enumerate(table.segments[:SHOWN]):
                chart = SmallChart()
                chart.set_data(partitions, {segment_name(s): [s.by_partition.get(p)
                                                              for p in partitions]},
                               lines=lines, y_label=table.metric)
                self.grid.addWidget(chart, i // COLUMNS, i % COLUMNS)
                self.charts.append(chart)
            if len(table.segments) > SHOWN:
                more = QLabel(f"… and {len(table.segments) - SHOWN} more segments in the "
                              "table")
                self.grid.addWidget(more, (SHOWN - 1) // COLUMNS + 1, 0, 1, COLUMNS)
        else:  # a now-test: the metric of every segment in one chart
            chart = LineChart()
            chart.set_data([segment_name(s) for s in table.segments],
                           {table.metric: [s.metrics.get(table.metric)
                                           for s in table.segments]},
                           lines=lines, y_label=table.metric)
            self.grid.addWidget(chart, 0, 0)
            self.charts.append(chart)
        self.setVisible(True)
