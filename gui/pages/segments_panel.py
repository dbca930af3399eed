"""The segments of a back-test or now-test (engine.formats.segments) as the app shows them: per
segmented column (a selector when there are several) the ranked table, worst first: segment,
rows, the ranking metric with its 95% bootstrap interval, the verdict (the bounds it misses, the
inputs that drifted in it), then every metric. Hidden when the run has no segments. Used by the
Back-test page's results and the Monitor page."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from engine.formats.segments import OTHER, SegmentTable, tables_from_json
from gui.colors import GREEN, RED, RED_TINT, muted
from gui.pages.segments_charts import SegmentCharts
from gui.tables import cell, make_table, set_row

VALUE_ROLE = Qt.ItemDataRole.UserRole  # the exact number behind a shown metric
FIXED = ["#", "Segment", "Rows", "Metric", "95% interval", "Verdict"]


def _num(value) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.4f}"


def fill_segments(table: QTableWidget, t: SegmentTable) -> None:
    """One row per segment in the engine's order (worst first); flagged rows tinted red."""
    metrics = list(dict.fromkeys(m for s in t.segments for m in s.metrics))
    columns = [*FIXED, *metrics]
    columns[1], columns[3] = t.column, t.metric
    table.clear()
    table.setColumnCount(len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.setRowCount(len(t.segments))
    for r, s in enumerate(t.segments):
        low, high = (s.intervals.get(t.metric) or [None, None])[:2]
        flags = [*(f"missed: {m}" for m in s.missed),
                 *([f"drifted: {', '.join(s.drifted)}"] if s.drifted else [])]
        verdict = "; ".join(flags) or "ok"
        name = f"other ({s.values} values)" if s.value == OTHER else s.value
        value = s.metrics.get(t.metric)
        cells = [cell(str(r + 1)), cell(name, bold=bool(flags)), cell(f"{s.rows:,}"),
                 cell(_num(value), color=RED if s.missed else None, bold=bool(s.missed)),
                 cell("–" if low is None else f"{_num(low)} to {_num(high)}",
                      "95% bootstrap interval"),
                 cell(verdict, verdict, RED if flags else GREEN, bold=bool(flags))]
        cells[3].setData(VALUE_ROLE, value)
        for m in metrics:
            item = cell(_num(s.metrics.get(m)))
            item.setData(VALUE_ROLE, s.metrics.get(m))
            cells.append(item)
        if flags:
            for item in cells:
                item.setBackground(RED_TINT)
        set_row(table, r, cells)


class SegmentsPanel(QWidget):
    """A title, the column selector and the ranked table of one run's segments."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.tables: list[SegmentTable] = []
        self.title = QLabel("Segments")
        self.column_combo = QComboBox()
        self.column_combo.currentIndexChanged.connect(lambda _i: self._fill())
        self.note = muted(QLabel())
        self.note.setWordWrap(True)
        self.table = make_table(FIXED)
        self.table.setWordWrap(False)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.column_combo)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.note)
        self.charts = SegmentCharts()
        split = QSplitter(Qt.Orientation.Vertical)  # the operator sizes table against charts
        split.addWidget(self.table)
        split.addWidget(self.charts)
        split.setChildrenCollapsible(False)
        split.setSizes([220, 380])
        layout.addWidget(split, 1)
        self.setVisible(False)

    def show_tables(self, tables: list[SegmentTable]) -> None:
        self.tables = list(tables)
        self.column_combo.blockSignals(True)
        self.column_combo.clear()
        self.column_combo.addItems([t.column for t in self.tables])
        self.column_combo.blockSignals(False)
        self.column_combo.setVisible(len(self.tables) > 1)
        self.setVisible(bool(self.tables))
        self._fill()

    def show_nowtest(self, nowtest: dict | None) -> None:
        """`nowtest`: a row of the now-test list (engine.nowtest.store), or None."""
        result = (nowtest or {}).get("result") or {}
        self.show_tables(tables_from_json(result.get("segments")))

    def _fill(self) -> None:
        index = self.column_combo.currentIndex()
        if not self.tables or index < 0:
            self.table.setRowCount(0)
            self.charts.show_table(None)
            return
        t = self.tables[index]
        fill_segments(self.table, t)
        self.charts.show_table(t)
        missed = sum(bool(s.missed) for s in t.segments)
        drifted = sum(bool(s.drifted) for s in t.segments)
        self.title.setText(f"Segments by {t.column}: {missed} of {len(t.segments)} miss a "
                           f"bound, {drifted} drifted")
        bounds = "; ".join(f"{m} {n} {b:g}" for m, n, b in t.bounds) or "no bounds"
        self.note.setText(("Held to the requirements: a segment that misses fails the run"
                           if t.held else "Bounds shown for information (no requirement "
                           "applies to segments)") + f" ({bounds}). Worst first; intervals "
                           f"from {t.draws} bootstrap resamples.")
