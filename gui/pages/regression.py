"""The Regression page: run a model's regression suite before any update, read an unmistakable
verdict (which case or requirement failed, by how much), the case list, the history of runs,
and export the HTML report.

The suite, the history and the report all run as jobs (gui.workers), through the page's run
panel (gui.run_panel); this widget only shows what they report.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from engine.regression.suite import SuiteResult
from gui.context import AppContext
from gui.pages.model_picker import ModelPicker
from gui.pages.regression_tables import (
    Verdict,
    cases_table,
    fill_cases,
    fill_runs,
    runs_table,
)
from gui.run_panel import Report, RunPanel
from gui.tasks import regression as tasks
from gui.widgets import page_header

log = logging.getLogger(__name__)


class RegressionPage(QWidget):
    run_finished = Signal(object)  # tasks.Outcome
    history_loaded = Signal(object)  # list[tasks.Run]

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.result: SuiteResult | None = None
        self.history: list[tasks.Run] = []
        self._build()
        self._set_running(False)

    def _build(self) -> None:
        header, _ = page_header(
            "Regression", "Run the model's regression suite before every update: every case "
            "within its tolerance (with the outliers pinned on this workstation) and every "
            "requirement met on the labelled reference sample.")
        self.verdict = Verdict()
        self.panel = RunPanel(self.ctx, verdict=self.verdict,
                              failed="The suite could not run; nothing was recorded.",
                              cancelled="Cancelled: nothing was recorded.")
        self.picker = self.panel.add(ModelPicker(), 1)
        self.picker.changed.connect(self.refresh)
        self.run_button = self.panel.add_button("Run regression suite", self.run, default=True)
        self.panel.offer_report(self._report)
        self.panel.busy_changed.connect(self._set_running)

        self.cases = cases_table()
        self.runs = runs_table()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.cases, "Cases")
        self.tabs.addTab(self.runs, "History of runs")

        layout = QVBoxLayout(self)
        layout.addWidget(header)
        layout.addWidget(self.panel)
        layout.addWidget(self.verdict)
        layout.addWidget(self.tabs, 1)

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.picker.setEnabled(not running)

    # -- history ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the chosen model's past runs (a run in progress refreshes them itself)."""
        self.panel.read_history("regression history", tasks.history, self.ctx.workspace,
                                self.picker.model_id(), then=self._history_loaded)

    def _history_loaded(self, runs: list[tasks.Run]) -> None:
        self.history = runs
        fill_runs(self.runs, runs)
        self.history_loaded.emit(runs)

    # -- running ---------------------------------------------------------------------------
    def run(self) -> None:
        self.panel.run("regression suite", tasks.run_regression, self.ctx.workspace,
                       self.picker.model_id(), then=self._finished,
                       message="Running the regression suite…")

    def _finished(self, outcome: tasks.Outcome) -> None:
        self.result = outcome.result
        log.info("regression run %d of %s: %s", outcome.run_id, outcome.result.model,
                 "passed" if outcome.result.passed else "FAILED")
        self.verdict.show_result(outcome.result)
        fill_cases(self.cases, outcome.result, outcome.pinned)
        self._history_loaded(outcome.history)
        self.tabs.setCurrentWidget(self.cases)
        self.run_finished.emit(outcome)

    # -- report ----------------------------------------------------------------------------
    def _report(self) -> Report | None:
        if self.result is None:
            return None
        return Report("regression report", "Export the regression report",
                      self.result.model.replace("@", "-") + "-regression.html",
                      tasks.export_report, (self.result,))
