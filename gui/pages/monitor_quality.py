"""The Monitor page's data-quality panel: the rules of the bundle (quality_rules.json) checked on
the now-test chosen in the list, failed ones first: rule, column, severity, what was measured
against what the rule allows, and the first failing rows (data rows counted from 1) with their
values. Hidden when the now-test's model has no rules."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QLabel, QTableWidget, QVBoxLayout, QWidget

from engine.nowtest.quality_report import first_rows_text, measured_text
from gui.colors import AMBER, GREEN, RED, RED_TINT
from gui.tables import cell, make_table, set_row

QUALITY_COLUMNS = ["Rule", "Column", "Severity", "Verdict", "Measured", "Allowed",
                   "First failing rows"]


def fill_quality(table: QTableWidget, quality: list[dict]) -> None:
    """One row per rule: failed alarm rules first, then failed warn rules, then the passed."""
    rows = sorted(quality, key=lambda q: (q.get("passed", True),
                                          q.get("severity") != "alarm"))
    table.setRowCount(len(rows))
    for r, q in enumerate(rows):
        failed = not q.get("passed", True)
        alarm = failed and q.get("severity") == "alarm"
        verdict = "ALARM" if alarm else "warning" if failed else "passed"
        color = RED if alarm else AMBER if failed else GREEN
        message = q.get("message", "")
        cells = [cell(q.get("rule", ""), message), cell(q.get("column") or "(the file)"),
                 cell(q.get("severity", "")), cell(verdict, message, color, bold=failed),
                 cell(measured_text(q)), cell(q.get("limit", "")),
                 cell(first_rows_text(q), message)]
        if alarm:
            for item in cells:
                item.setBackground(RED_TINT)
        set_row(table, r, cells)


class QualityPanel(QWidget):
    """A title and the rules' table of one now-test (`show_nowtest`)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel("Data-quality rules")
        self.table = make_table(QUALITY_COLUMNS)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.table)
        self.setVisible(False)

    def show_nowtest(self, nowtest: dict | None) -> None:
        """`nowtest`: a row of the now-test list (engine.nowtest.store), or None."""
        quality = ((nowtest or {}).get("result") or {}).get("quality") or []
        fill_quality(self.table, quality)
        self.setVisible(bool(quality))
        if quality:
            failed = sum(not q.get("passed", True) for q in quality)
            name = Path(nowtest.get("input", "")).name
            self.title.setText(f"Data-quality rules in {name}: {failed} of {len(quality)} "
                               "failed" if failed else
                               f"Data-quality rules in {name}: all {len(quality)} passed")
