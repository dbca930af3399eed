"""The Regression page: run a model's regression suite before any update, read an unmistakable
verdict (which case or requirement failed, by how much), the case list, the history of runs,
and export the HTML report.

The suite, the history and the report all run as jobs (gui.workers); this widget only starts
them and shows what they report.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.ground.paths import Workspace
from engine.regression.suite import SuiteResult
from gui import dialogs, errors
from gui.context import AppContext
from gui.pages.model_picker import ModelPicker
from gui.pages.regression_tables import (
    Verdict,
    cases_table,
    fill_cases,
    fill_runs,
    runs_table,
)
from gui.tasks import regression as tasks
from gui.widgets import ProgressPanel, page_header

log = logging.getLogger(__name__)


class RegressionPage(QWidget):
    run_finished = Signal(object)  # tasks.Outcome
    history_loaded = Signal(object)  # list[tasks.Run]
    report_written = Signal(object)  # Path

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.result: SuiteResult | None = None
        self.history: list[tasks.Run] = []
        self._job = None
        self._build()
        self._set_running(False)

    def _build(self) -> None:
        header, _ = page_header(
            "Regression", "Run the model's regression suite before every update: every case "
            "within its tolerance (with the outliers pinned on this workstation) and every "
            "requirement met on the labelled reference sample.")
        self.picker = ModelPicker()
        self.picker.changed.connect(self.refresh)
        self.run_button = QPushButton("Run regression suite")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        self.export_button = QPushButton("Export report…")
        self.export_button.clicked.connect(self._choose_report)
        self.progress = ProgressPanel()
        self.progress.cancel_requested.connect(self.cancel)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #555;")
        self.message.setVisible(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.picker, 1)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.export_button)

        self.verdict = Verdict()
        self.cases = cases_table()
        self.runs = runs_table()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.cases, "Cases")
        self.tabs.addTab(self.runs, "History of runs")

        layout = QVBoxLayout(self)
        layout.addWidget(header)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.verdict)
        layout.addWidget(self.tabs, 1)

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.picker.setEnabled(not running)
        self.export_button.setEnabled(not running and self.result is not None)
        if not running:
            self.progress.stop()

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    # -- history ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the chosen model's past runs (a run in progress refreshes them itself)."""
        if self._job is not None:
            return
        self.ctx.run("regression history", tasks.history, self.ctx.workspace,
                     self.picker.model_id(), on_finished=self._history_loaded,
                     on_failed=lambda exc: errors.show_exception(self, exc))

    def _history_loaded(self, runs: list[tasks.Run]) -> None:
        self.history = runs
        fill_runs(self.runs, runs)
        self.history_loaded.emit(runs)

    # -- running ---------------------------------------------------------------------------
    def run(self) -> None:
        if self._job is not None:
            return
        self._set_running(True)
        self._say("")
        self.verdict.clear("Running…")
        self.progress.start("Running the regression suite…")
        self._job = self.ctx.run("regression suite", tasks.run_regression, self.ctx.workspace,
                                 self.picker.model_id(), on_progress=self.progress.set_progress,
                                 on_finished=self._finished, on_failed=self._failed,
                                 on_cancelled=self._cancelled)

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self.progress.cancelling()

    def _finished(self, outcome: tasks.Outcome) -> None:
        self._job = None
        self.result = outcome.result
        log.info("regression run %d of %s: %s", outcome.run_id, outcome.result.model,
                 "passed" if outcome.result.passed else "FAILED")
        self._set_running(False)
        self.verdict.show_result(outcome.result)
        fill_cases(self.cases, outcome.result, outcome.pinned)
        self._history_loaded(outcome.history)
        self.tabs.setCurrentWidget(self.cases)
        self.run_finished.emit(outcome)

    def _failed(self, exc: BaseException) -> None:
        self._job = None
        self._set_running(False)
        self.verdict.clear("The suite could not run; nothing was recorded.")
        errors.show_exception(self, exc)

    def _cancelled(self) -> None:
        self._job = None
        self._set_running(False)
        self.verdict.clear("Cancelled: nothing was recorded.")

    # -- report ----------------------------------------------------------------------------
    def _choose_report(self) -> None:
        if self.result is None:
            return
        name = self.result.model.replace("@", "-") + "-regression.html"
        path = dialogs.choose_report_path(self, "Export the regression report",
                                          Workspace(self.ctx.workspace).reports_dir / name)
        if path is not None:
            self.export_report(path)

    def export_report(self, path: Path) -> None:
        if self.result is None:
            return
        self.export_button.setEnabled(False)
        self.ctx.run("regression report", tasks.export_report, self.result, Path(path),
                     on_finished=self._exported, on_failed=self._export_failed)

    def _exported(self, path: Path) -> None:
        self.export_button.setEnabled(self.result is not None)
        self._say(f"Report saved to {path}.")
        self.report_written.emit(path)

    def _export_failed(self, exc: BaseException) -> None:
        self.export_button.setEnabled(self.result is not None)
        errors.show_exception(self, exc)
