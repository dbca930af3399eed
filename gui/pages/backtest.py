"""The Back-test page: run the champion (and any challengers) over a corpus of history,
partitioned by month, quarter or year; see each model's metrics per partition against the
requirements, the champion against each challenger, and export the HTML report.

The corpus header, the run, the history and the report are jobs (gui.workers); this widget
only starts them and shows what they report. Cancel stops the run between partitions, and a
cancelled run records nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.ground.paths import Workspace
from gui import dialogs, errors
from gui.context import AppContext
from gui.pages.backtest_results import Banner, Results, fill_history
from gui.pages.backtest_setup import BacktestSetup
from gui.pages.models_tables import when
from gui.tasks import backtest as tasks
from gui.tasks.models import Snapshot
from gui.widgets import ProgressPanel, page_header

log = logging.getLogger(__name__)


class BacktestPage(QWidget):
    run_finished = Signal(object)  # tasks.Outcome
    history_loaded = Signal(object)  # list[tasks.PastRun]
    report_written = Signal(object)  # Path

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.outcome: tasks.Outcome | None = None  # what the page shows (a run, or a past one)
        self.history: list[tasks.PastRun] = []
        self._history_reads = 0  # a history read older than the newest one is dropped
        self._job = None
        self._build()
        self._set_running(False)

    def _build(self) -> None:
        header, _ = page_header(
            "Back-test", "Run models over the full history, per month, quarter or year: "
            "metrics against the requirements, challengers against the champion.")
        self.setup = BacktestSetup(self.ctx)
        self.setup.changed.connect(lambda: self._set_running(self._job is not None))
        self.picker = self.setup.picker  # the champion
        self.run_button = QPushButton("Run back-test")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        self.export_button = QPushButton("Export report…")
        self.export_button.clicked.connect(self._choose_report)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #555;")
        self.message.setVisible(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.message, 1)
        buttons.addStretch(1)
        self.progress = ProgressPanel()
        self.progress.cancel_requested.connect(self.cancel)
        self.banner = Banner()
        self.results = Results()
        self.results.past_chosen.connect(self.show_past)

        layout = QVBoxLayout(self)
        layout.addWidget(header)
        layout.addWidget(self.setup)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.banner)
        layout.addWidget(self.results, 1)

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running and self.setup.ready())
        self.setup.set_enabled(not running)
        self.export_button.setEnabled(not running and self.outcome is not None)
        if not running:
            self.progress.stop()

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def set_snapshot(self, snap: Snapshot) -> None:
        """The installed models changed (the Models page read them)."""
        self.setup.set_snapshot(snap)
        self._set_running(self._job is not None)

    def showEvent(self, event) -> None:
        """Each time the page comes into view, the history is read again (a back-test run
        from the command line meanwhile shows up)."""
        super().showEvent(event)
        self.refresh()

    # -- history ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the past back-tests (a run in progress refreshes them itself)."""
        if self._job is not None:
            return
        self._history_reads += 1
        read = self._history_reads
        self.ctx.run("back-test history", tasks.history, self.ctx.workspace,
                     on_finished=lambda runs: read == self._history_reads
                     and self._history_loaded(runs),
                     on_failed=lambda exc: errors.show_exception(self, exc))

    def _history_loaded(self, runs: list[tasks.PastRun]) -> None:
        self.history = runs
        fill_history(self.results.history, runs)
        self.history_loaded.emit(runs)

    def show_past(self, row: int) -> None:
        """Show a back-test of the history again (its report can be exported again too)."""
        if self._job is not None or not 0 <= row < len(self.history):
            return
        past = self.history[row]
        self.outcome = tasks.Outcome(past.result, None, self.history)
        self.banner.show_result(past.result)
        self.results.show_result(past.result)
        self._say(f"Showing back-test {past.id} of {when(past.at)}, from the history.")
        self._set_running(False)

    # -- running ---------------------------------------------------------------------------
    def run(self) -> None:
        setup = self.setup.setup()
        if self._job is not None or setup is None:
            return
        self._set_running(True)
        self._history_reads += 1  # the run brings the history back itself
        self._say("")
        self.banner.clear("Running…")
        self.outcome = None
        self.results.reset("Running…")
        self.progress.start(f"Back-testing on {setup.corpus.name}…")
        self._job = self.ctx.run("back-test", tasks.run, self.ctx.workspace, setup,
                                 on_progress=self.progress.set_progress,
                                 on_finished=self._finished, on_failed=self._failed,
                                 on_cancelled=self._cancelled)

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self.progress.cancelling()

    def _finished(self, outcome: tasks.Outcome) -> None:
        self._job = None
        self.outcome = outcome
        result = outcome.result
        log.info("back-test %s of %s on %s: %s", outcome.run_id, result.champion,
                 result.corpus, "passed" if result.passed else "requirements missed")
        self._set_running(False)
        self.banner.show_result(result, outcome.run_id)
        self.results.show_result(result)
        self._history_loaded(outcome.history)
        self.run_finished.emit(outcome)

    def _failed(self, exc: BaseException) -> None:
        self._job = None
        self._set_running(False)
        self.banner.clear("The back-test could not run; nothing was recorded.")
        errors.show_exception(self, exc)

    def _cancelled(self) -> None:
        self._job = None
        self._set_running(False)
        self.banner.clear("Cancelled: nothing was recorded.")

    # -- report ----------------------------------------------------------------------------
    def _choose_report(self) -> None:
        if self.outcome is None:
            return
        result = self.outcome.result
        name = f"{result.champion.replace('@', '-')}-backtest-{result.by}.html"
        path = dialogs.choose_report_path(self, "Export the back-test report",
                                          Workspace(self.ctx.workspace).reports_dir / name)
        if path is not None:
            self.export_report(path)

    def export_report(self, path: Path) -> None:
        if self.outcome is None:
            return
        self.export_button.setEnabled(False)
        self.ctx.run("back-test report", tasks.export_report, self.outcome.result, Path(path),
                     on_finished=self._exported, on_failed=self._export_failed)

    def _exported(self, path: Path) -> None:
        self.export_button.setEnabled(self.outcome is not None and self._job is None)
        self._say(f"Report saved to {path}.")
        self.report_written.emit(path)

    def _export_failed(self, exc: BaseException) -> None:
        self.export_button.setEnabled(self.outcome is not None and self._job is None)
        errors.show_exception(self, exc)
