"""The Regression page: run a model's regression suite before any update, read an unmistakable
verdict (which case or requirement failed, by how much), the case list, the history of runs,
and export the HTML report.

The suite, the history and the report all run as jobs (gui.workers), through the page's run
panel (gui.run_panel); this widget only shows what they report.
"""

from __future__ import annotations

import logging
from functools import partial

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QSplitter, QTabWidget, QVBoxLayout, QWidget

from engine.errors import EngineError
from engine.regression.suite import SuiteResult
from gui import errors
from gui.context import AppContext
from gui.pages.model_picker import ModelPicker
from gui.pages.regression_tables import (
    CASE_ROLE,
    Verdict,
    cases_table,
    fill_cases,
    fill_runs,
    runs_table,
)
from gui.run_panel import Report, RunPanel
from gui.tasks import predict as predict_tasks
from gui.tasks import regression as tasks
from gui.why_panel import WhyPanel
from gui.widgets import page_header

log = logging.getLogger(__name__)
WHY_JOB = "regression: why this case"


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
        self.cases.currentCellChanged.connect(lambda row, *_: self._case_selected(row))
        self.why = WhyPanel()
        self.why.clear("Select a case to see why the model predicted what it did.")
        cases_tab = QSplitter(Qt.Orientation.Horizontal)
        cases_tab.addWidget(self.cases)
        cases_tab.addWidget(self.why)
        cases_tab.setChildrenCollapsible(False)
        cases_tab.setStretchFactor(0, 3)
        cases_tab.setStretchFactor(1, 2)
        self.runs = runs_table()
        self.tabs = QTabWidget()
        self.tabs.addTab(cases_tab, "Cases")
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
        self.why.clear("Select a case to see why the model predicted what it did.")
        self._history_loaded(outcome.history)
        self.tabs.setCurrentIndex(0)
        self.run_finished.emit(outcome)

    # -- why -------------------------------------------------------------------------------
    def _case_selected(self, row: int) -> None:
        item = self.cases.item(row, 0) if row >= 0 else None
        if item is None or self.result is None:
            return
        case = self.result.cases[item.data(CASE_ROLE)]
        if not case.inputs:
            self.why.clear("This case's inputs were not recorded; run the suite again.")
            return
        self.why.loading(case.row)
        self.ctx.run("why", predict_tasks.explain_row, self.ctx.workspace, self.result.model,
                     case.inputs, key=WHY_JOB,
                     on_finished=lambda why: self.why.show_why(why, case.row),
                     on_failed=self._why_failed)

    def _why_failed(self, exc: BaseException) -> None:
        if not isinstance(exc, EngineError):
            self.why.clear("The explanation failed.")
            errors.show_exception(self, exc)
            return
        self.why.show_unavailable(exc.message)

    # -- report ----------------------------------------------------------------------------
    def _report(self) -> Report | None:
        if self.result is None:
            return None
        return Report("regression report", "Export the regression report",
                      self.result.model.replace("@", "-") + "-regression.html",
                      partial(tasks.export_report, workspace=self.ctx.workspace),
                      (self.result,))
