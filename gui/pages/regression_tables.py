"""The Regression page's pieces: the verdict banner, the case list and the history of runs."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTableWidget, QVBoxLayout, QWidget

from engine.regression.suite import SuiteResult
from gui.colors import GREEN, RED
from gui.tables import cell, make_table, set_row, when
from gui.tasks.regression import Run

CASE_COLUMNS = ["Row", "Kind", "Note", "Source", "Result"]
CASE_ROLE = Qt.ItemDataRole.UserRole  # each case row carries its index in SuiteResult.cases
RUN_COLUMNS = ["When", "Model", "Verdict", "Cases", "Failed", "By", "Why it failed"]


class Verdict(QWidget):
    """PASSED in green or FAILED in red, big, with the reasons listed below."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.headline = QLabel()
        font = self.headline.font()
        font.setPointSizeF(font.pointSizeF() * 2.2)
        font.setBold(True)
        self.headline.setFont(font)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setTextFormat(Qt.TextFormat.RichText)
        self.problems.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self.headline, self.summary, self.problems):
            layout.addWidget(w)
        self.clear()

    def clear(self, text: str = "Not run yet in this session.") -> None:
        self.headline.setText("")
        self.headline.setStyleSheet("")
        self.summary.setText(text)
        self.problems.setText("")
        self.problems.setVisible(False)

    def show_result(self, result: SuiteResult) -> None:
        color = GREEN if result.passed else RED
        self.headline.setText("PASSED" if result.passed else "FAILED")
        self.headline.setStyleSheet(
            f"color: white; background: {color.name()}; padding: 6px 18px; border-radius: 4px;")
        failed = sum(not c.passed for c in result.cases)
        met = sum(r.passed for r in result.requirements)
        reqs = ", ".join(f"{r.metric} {r.value:.4g} ({r.bound_name} {r.bound:g})"
                         for r in result.requirements if r.value is not None)
        self.summary.setText(
            f"Model {result.model}: {len(result.cases) - failed} of {len(result.cases)} cases "
            f"passed; {met} of {len(result.requirements)} requirements met on the reference "
            f"sample ({result.reference_rows:,} rows)" + (f": {reqs}." if reqs else "."))
        items = "".join(f"<li>{html.escape(p)}</li>" for p in result.problems)
        self.problems.setText(f"<b style='color:{RED.name()}'>Why it failed:</b><ul "
                              f"style='margin-top:2px'>{items}</ul>" if items else "")
        self.problems.setVisible(bool(items))


def cases_table() -> QTableWidget:
    return make_table(CASE_COLUMNS)


def fill_cases(table: QTableWidget, result: SuiteResult, pinned: int = 0) -> None:
    """Failing cases first, then the rest in order: the bundle's, then the ``pinned`` outliers
    of this workstation (the engine runs them last)."""
    first_pinned = len(result.cases) - pinned
    cases = sorted(enumerate(result.cases), key=lambda ic: ic[1].passed)
    table.setRowCount(len(cases))
    for r, (i, c) in enumerate(cases):
        is_pinned = i >= first_pinned
        cells = [
            cell(f"pinned {c.row}" if is_pinned else str(c.row)),
            cell(c.kind + (" (pinned here)" if is_pinned else "")),
            cell(c.note, c.note),
            cell(c.source, c.source),
            cell("passed" if c.passed else f"FAILED: {c.detail}", c.detail,
                  GREEN if c.passed else RED, bold=not c.passed),
        ]
        set_row(table, r, cells, CASE_ROLE, i)


def runs_table() -> QTableWidget:
    return make_table(RUN_COLUMNS)


def fill_runs(table: QTableWidget, runs: list[Run]) -> None:
    """Newest first, as given."""
    table.setRowCount(len(runs))
    for r, run in enumerate(runs):
        why = "; ".join(run.problems)
        cells = [
            cell(when(run.at)),
            cell(run.model),
            cell("passed" if run.passed else "FAILED", color=GREEN if run.passed else RED,
                  bold=True),
            cell(str(run.cases)),
            cell(str(run.cases_failed)),
            cell(run.user),
            cell(why, why),
        ]
        set_row(table, r, cells)
