"""The gate's verdict as the Trial page shows it: ACCEPT in green or REJECT in red, every check
with its figures (the engine's words), what the candidate was held to, and the back-test of
candidate against champion on the primary metric, partition by partition."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QLabel,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.trial.gate_result import GateResult
from gui.charts import LineChart
from gui.colors import AMBER, GREEN, MUTED_STYLE, RED
from gui.tables import when

SCOPE = {"overall": "overall", "partition": "per {by}"}


def rule_text(result: GateResult) -> str:
    """What the candidate had to do, in words."""
    e = html.escape
    held = "; ".join(
        f"{e(r['metric'])} {e(r['bound_name'])} {r['bound']:g} "
        f"{SCOPE.get(r['applies'], r['applies']).format(by=result.by)} (the {e(r['from'])}'s)"
        for r in result.requirements)
    beat = ("the 95% interval of the difference excludes zero" if result.margin is None
            else f"by at least {result.margin:g}")
    return (f"Held to {held}. It must beat the champion on {e(result.metric)} ({beat}), "
            f"with no {e(result.by)} worse than the champion's by more than "
            f"{result.tolerance:g}.")


def checks_html(result: GateResult) -> str:
    rows = []
    for c in result.checks:
        color = (GREEN if c.passed else RED).name()
        mark = "✓" if c.passed else "✗"
        rows.append(f"<tr><td style='color:{color}; font-size:large; padding-right:6px'>"
                    f"<b>{mark}</b></td><td style='padding-bottom:6px'><b>"
                    f"{html.escape(c.name[:1].upper() + c.name[1:])}</b> "
                    f"<span style='color:{color}'>{'passed' if c.passed else 'failed'}</span>"
                    f"<br>{html.escape(c.detail)}</td></tr>")
    return f"<table cellspacing=0>{''.join(rows)}</table>"


def backtest_series(result: GateResult) -> tuple[list[str], dict, list[tuple[str, float]]]:
    """Champion and candidate on the primary metric, per partition, and what the candidate
    is held to in each partition."""
    bt, metric = result.backtest, result.metric
    keys = bt.partition_keys
    value = {(p.partition, p.model): p.metrics.get(metric) for p in bt.partitions}
    series = {f"{result.champion} (champion)": [value.get((k, result.champion)) for k in keys],
              f"{result.candidate} (candidate)": [value.get((k, result.candidate))
                                                  for k in keys]}
    reqs = [r for r in result.requirements if r["metric"] == metric]
    per_partition = [r for r in reqs if r["applies"] == "partition"] or reqs  # the engine's rule
    lines = [(f"{r['bound_name']} {r['bound']:g} per {result.by}", r["bound"])
             for r in per_partition]
    return keys, series, lines


class GateVerdict(QWidget):
    """Empty (a message) until a gate run is shown."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.result: GateResult | None = None
        self.headline = QLabel()
        font = self.headline.font()
        font.setPointSizeF(font.pointSizeF() * 1.9)
        font.setBold(True)
        self.headline.setFont(font)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setStyleSheet("color: #333;")
        self.checks = QLabel()
        self.checks.setWordWrap(True)
        self.checks.setTextFormat(Qt.TextFormat.RichText)
        self.checks.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.checks.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 6, 0)
        for w in (self.headline, self.title, self.summary, self.checks):
            left_layout.addWidget(w)
        left_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(left)
        self.chart = LineChart()
        self.chart.setMinimumSize(300, 200)
        self.chart_title = QLabel()
        self.chart_title.setStyleSheet(MUTED_STYLE)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(6, 0, 0, 0)
        right_layout.addWidget(self.chart_title)
        right_layout.addWidget(self.chart, 1)
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.addWidget(scroll)
        self.split.addWidget(right)
        self.split.setSizes([560, 420])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.split)
        self.clear()

    def clear(self, text: str = "No gate run yet: choose a candidate and a corpus, then run "
              "the gate.") -> None:
        self.result = None
        self.headline.setText("")
        self.headline.setStyleSheet("")
        self.headline.setVisible(False)
        self.title.setText(html.escape(text))
        self.summary.setText("")
        self.checks.setText("")
        self.chart_title.setText("")
        self.chart.clear("The back-test of the candidate against the champion shows here.")

    def show_result(self, result: GateResult, note: str = "") -> None:
        self.result = result
        color = AMBER if result.forced else GREEN if result.accepted else RED
        self.headline.setText("ACCEPTED ANYWAY" if result.forced else
                              "ACCEPT" if result.accepted else "REJECT")
        self.headline.setStyleSheet(f"color: white; background: {color.name()}; "
                                    "padding: 4px 18px; border-radius: 4px;")
        self.headline.setVisible(True)
        failed = sum(not c.passed for c in result.checks)
        if result.forced:
            said = (f"Accepted anyway by {html.escape(result.forced['user'])} over gate run "
                    f"{result.forced['overrides']}'s rejection: "
                    f"{html.escape(result.forced['why'])}. {html.escape(result.candidate)} may "
                    f"go on trial beside {html.escape(result.champion)}.")
        elif result.accepted:
            said = (f"All {len(result.checks)} checks passed: {html.escape(result.candidate)} "
                    f"may go on trial beside {html.escape(result.champion)}.")
        else:
            said = (f"{failed} of {len(result.checks)} checks failed: "
                    f"{html.escape(result.candidate)} may not replace "
                    f"{html.escape(result.champion)}.")
        self.title.setText(f"<b style='font-size:large'>{said}</b>")
        where = f"Gate run {result.id}, " if result.id is not None else ""
        self.summary.setText(f"{where}{html.escape(when(result.at))}. "
                             f"{rule_text(result)}" + (f" {html.escape(note)}" if note else ""))
        self.checks.setText(checks_html(result))
        keys, series, lines = backtest_series(result)
        self.chart.set_data(keys, series, lines, result.metric)
        self.chart_title.setText(f"Back-test on {result.metric}, one point per {result.by}"
                                 + (" (dashed: the requirement)" if lines else ""))
