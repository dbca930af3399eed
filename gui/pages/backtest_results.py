"""What a back-test found, as the Back-test page shows it: a verdict banner with the counts and
the verdicts in words (the engine's words), the chart of one metric per partition, the table
per partition, the comparison of the champion with each challenger, the champion's segments
(gui.pages.segments_panel) and the history of runs."""

from __future__ import annotations

import html
import math
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.backtest.result import BacktestResult
from engine.backtest.words import challenger_line, champion_line
from gui.charts import LineChart
from gui.colors import GREEN, MUTED, RED
from gui.pages.segments_panel import SegmentsPanel
from gui.tables import cell, make_table, set_row, when
from gui.tasks.backtest import PastRun

VALUE_ROLE = Qt.ItemDataRole.UserRole  # the exact number behind a shown metric
GREY = MUTED
COMPARISON_COLUMNS = ["Partition", "Challenger", "Metric", "Champion", "Challenger's",
                      "Difference", "95% interval", "Rows", "Reading"]
HISTORY_COLUMNS = ["When", "Champion", "Challengers", "By", "Corpus",
                   "Champion met requirements", "Who"]
READINGS = {"better": ("challenger better", GREEN), "worse": ("challenger worse", RED)}
MARKS = {"better": ("▲", GREEN.name()), "worse": ("▼", RED.name())}


def _num(value: float | None, signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def requirement_lines(result: BacktestResult, metric: str) -> list[tuple[str, float]]:
    """The requirement lines for ``metric``: one line when every model has the same bound,
    else one per model, named by whose it is (as the engine's report draws them)."""
    bounds = list(dict.fromkeys((r.model, r.bound_name, r.bound) for r in result.requirements
                                if r.metric == metric))
    if len({(name, bound) for _, name, bound in bounds}) == 1:
        _, name, bound = bounds[0]
        return [(f"{metric} {name} {bound:g}", bound)]
    return [(f"{model}: {name} {bound:g}", bound) for model, name, bound in bounds]


class Banner(QWidget):
    """The champion's verdict in a coloured headline; the counts and verdicts in words below."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.headline = QLabel()
        font = self.headline.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.headline.setFont(font)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.headline)
        layout.addWidget(self.summary)
        self.clear()

    def clear(self, text: str = "Not run yet in this session.") -> None:
        self.headline.setText("")
        self.headline.setVisible(False)
        self.summary.setText(html.escape(text))

    def show_result(self, result: BacktestResult, run_id: int | None = None) -> None:
        own = [p for p in result.partitions if p.model == result.champion]
        missed = [p for p in own if not p.passed]
        if not own:
            text, color = "No partition could be judged", RED
        elif missed:
            text, color = (f"{result.champion}: requirements missed in {len(missed)} of "
                           f"{_plural(len(own), result.by)}", RED)
        else:
            text, color = (f"{result.champion}: requirements met in every {result.by} "
                           f"({len(own)})", GREEN)
        self.headline.setText(text)
        self.headline.setStyleSheet(f"color: white; background: {color.name()}; "
                                    "padding: 4px 14px; border-radius: 4px;")
        self.headline.setVisible(True)
        self.summary.setText(summary_html(result, run_id))


def summary_html(result: BacktestResult, run_id: int | None = None) -> str:
    e = html.escape
    keys = result.partition_keys
    span = f" ({keys[0]} to {keys[-1]})" if len(keys) > 1 else ""
    counts = (f"{result.rows:,} rows read from {e(Path(result.corpus).name)} into "
              f"{_plural(len(keys), result.by)}{span}: <b>{result.unlabelled:,}</b> without a "
              f"label and <b>{result.untimed:,}</b> without a readable time in "
              f"{html.escape(repr(result.time_column), quote=False)}, counted and left out "
              "of the metrics.")
    if run_id is not None:
        counts += f" Recorded as back-test {run_id}."
    def mark(symbol: str, color: str, words: str) -> str:
        return f"<b style='color:{color}'>{symbol}</b>&nbsp;{e(words)}"

    lines = [counts, mark("✓", GREEN.name(), champion_line(result)) if result.passed
             else mark("✗", RED.name(), champion_line(result))]
    for label in result.challengers:
        verdict = result.verdict.get(label, "")
        symbol, color = MARKS.get(verdict, ("●", GREY))
        lines.append(mark(symbol, color, challenger_line(result, label)))
    return "<br>".join(lines)


def _models(result: BacktestResult) -> list[str]:
    return [result.champion, *result.challengers]


def _metric_names(result: BacktestResult) -> list[str]:
    return list(dict.fromkeys(m for p in [*result.partitions, *result.overall]
                              for m in p.metrics))


def partitions_table() -> QTableWidget:
    table = make_table(["Partition", "Model", "Requirements", "Rows", "Rejected"])
    table.setWordWrap(False)
    return table


def fill_partitions(table: QTableWidget, result: BacktestResult) -> None:
    """One row per partition and model (the champion first), then the pooled rows; the
    metrics a model missed in red."""
    metrics = _metric_names(result)
    columns = ["Partition", "Model", "Requirements", "Rows", "Rejected", *metrics]
    table.clear()
    table.setColumnCount(len(columns))
    table.setHorizontalHeaderLabels(columns)
    order = _models(result)
    rows = sorted(result.partitions, key=lambda p: (p.partition, order.index(p.model)
                                                    if p.model in order else len(order)))
    rows += [(p, True) for p in result.overall]
    table.setRowCount(len(rows))
    for r, entry in enumerate(rows):
        p, pooled = entry if isinstance(entry, tuple) else (entry, False)
        failing = {f.split(" ", 1)[0] for f in p.failures}
        role = " (champion)" if p.model == result.champion else ""
        why = "; ".join(p.failures)
        if pooled:
            verdict = cell("for reference", "pooled over every partition; the requirements "
                            "are judged per partition")
        else:
            verdict = cell("met" if p.passed else "missed: " + ", ".join(sorted(failing)),
                            why, GREEN if p.passed else RED, bold=True)
        cells = [cell("all, pooled" if pooled else p.partition, bold=pooled),
                 cell(p.model + role, bold=bool(role)), verdict, cell(f"{p.rows:,}"),
                 cell(f"{p.rejected:,}", color=RED if p.rejected else None)]
        for m in metrics:
            value = p.metrics.get(m)
            bad = m in failing and not pooled
            item = cell(_num(value), color=RED if bad else None, bold=bad)
            item.setData(VALUE_ROLE, value)
            cells.append(item)
        for column, item in enumerate(cells):
            if column >= 3:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, column, item)


def comparisons_table() -> QTableWidget:
    return make_table(COMPARISON_COLUMNS)


def fill_comparisons(table: QTableWidget, result: BacktestResult) -> None:
    """Every comparison the engine made: per partition, then the overall one per challenger
    and metric (the verdict comes from the overall comparison of the first metric)."""
    rows = sorted(result.comparisons, key=lambda c: (c.partition == "overall",))
    table.setRowCount(len(rows))
    for r, c in enumerate(rows):
        said, color = READINGS.get(c.outcome, (c.outcome or "cannot tell", None))
        interval = ("–" if c.ci_low is None or not math.isfinite(c.ci_low) else
                    f"{c.ci_low:+.4f} to {c.ci_high:+.4f}")
        overall = c.partition == "overall"
        cells = [cell("overall" if overall else c.partition, bold=overall),
                 cell(c.challenger), cell(c.metric),
                 cell(_num(c.champion_value)), cell(_num(c.challenger_value)),
                 cell(_num(c.difference, signed=True), "challenger minus champion"),
                 cell(interval, "95% bootstrap interval of the difference"),
                 cell(f"{c.rows:,}"), cell(said, color=color, bold=color is not None)]
        cells[5].setData(VALUE_ROLE, c.difference)
        set_row(table, r, cells)


def history_table() -> QTableWidget:
    table = make_table(HISTORY_COLUMNS)
    table.setToolTip("Double-click a run to show it again")
    return table


def fill_history(table: QTableWidget, runs: list[PastRun]) -> None:
    table.setRowCount(len(runs))
    for r, run in enumerate(runs):
        res = run.result
        cells = [cell(when(run.at)), cell(res.champion),
                 cell(", ".join(res.challengers) or "none"), cell(res.by),
                 cell(Path(res.corpus).name, res.corpus),
                 cell("yes" if res.passed else "no", color=GREEN if res.passed else RED,
                       bold=True), cell(run.user)]
        set_row(table, r, cells)


class Results(QTabWidget):
    """The chart (with its metric selector), the partitions, the comparisons, the history."""

    past_chosen = Signal(int)  # a row of the history was double-clicked

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.result: BacktestResult | None = None
        self.metric_combo = QComboBox()
        self.metric_combo.setMinimumContentsLength(12)
        self.metric_combo.currentIndexChanged.connect(lambda _i: self._draw())
        self.chart = LineChart()
        self.chart.clear("Run a back-test to see each model's metric, partition by partition.")
        chart_page = QWidget()
        top = QHBoxLayout()
        top.addWidget(QLabel("Metric:"))
        top.addWidget(self.metric_combo)
        self.chart_note = QLabel()
        self.chart_note.setStyleSheet(f"color: {GREY};")
        top.addWidget(self.chart_note, 1)
        box = QVBoxLayout(chart_page)
        box.setContentsMargins(6, 6, 6, 6)
        box.addLayout(top)
        box.addWidget(self.chart, 1)
        self.partitions = partitions_table()
        self.comparisons = comparisons_table()
        self.history = history_table()
        self.history.cellDoubleClicked.connect(lambda row, _col: self.past_chosen.emit(row))
        self.addTab(chart_page, "Chart")
        self.addTab(self.partitions, "Per partition")
        self.addTab(self.comparisons, "Champion vs challengers")
        self.addTab(self.history, "History of back-tests")
        self.segments = SegmentsPanel()  # the champion's, per segmented column
        self.insertTab(self.indexOf(self.history), self.segments, "Segments")

    def show_result(self, result: BacktestResult) -> None:
        self.result = result
        metrics = _metric_names(result)
        self.metric_combo.blockSignals(True)
        self.metric_combo.clear()
        self.metric_combo.addItems(metrics)
        self.metric_combo.setCurrentIndex(metrics.index(result.metric)
                                          if result.metric in metrics else 0)
        self.metric_combo.blockSignals(False)
        self._draw()
        fill_partitions(self.partitions, result)
        fill_comparisons(self.comparisons, result)
        self.setTabEnabled(self.indexOf(self.comparisons), bool(result.challengers))
        self.segments.show_tables(result.segments)
        self.setTabEnabled(self.indexOf(self.segments), bool(result.segments))
        self.setCurrentIndex(0)

    def _draw(self) -> None:
        result, metric = self.result, self.metric_combo.currentText()
        if result is None or not metric:
            return
        keys = result.partition_keys
        value = {(p.partition, p.model): p.metrics.get(metric) for p in result.partitions}
        series = {}
        for label in _models(result):
            name = f"{label} (champion)" if label == result.champion else label
            series[name] = [value.get((k, label)) for k in keys]
        lines = requirement_lines(result, metric)
        self.chart.set_data(keys, series, lines, metric)
        note = f"One point per {result.by}; the models are compared on {result.metric}."
        self.chart_note.setText(note + (" Dashed: the requirement." if lines else ""))

    def reset(self, message: str) -> None:
        """Nothing to show (QTabWidget.clear would remove the tabs)."""
        self.result = None
        self.chart.clear(message)
        self.metric_combo.clear()
        self.chart_note.setText("")
        self.partitions.setRowCount(0)
        self.comparisons.setRowCount(0)
        self.segments.show_tables([])
