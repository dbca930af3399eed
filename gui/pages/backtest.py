"""The Back-test page: run the champion (and any challengers) over a corpus of history,
partitioned by month, quarter or year; see each model's metrics per partition against the
requirements, the champion against each challenger, and export the HTML report.

The corpus header, the run, the history and the report are jobs (gui.workers), run through
the page's run panel (gui.run_panel); this widget only shows what they report. Cancel (or
Escape) stops the run between partitions, and a cancelled run records nothing.
"""

from __future__ import annotations

import logging
from functools import partial

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from gui.context import AppContext
from gui.pages.backtest_results import Banner, Results, fill_history
from gui.pages.backtest_setup import BacktestSetup
from gui.run_panel import Report, RunPanel
from gui.tables import when
from gui.tasks import backtest as tasks
from gui.tasks.models import Snapshot
from gui.widgets import page_header

log = logging.getLogger(__name__)


class BacktestPage(QWidget):
    run_finished = Signal(object)  # tasks.Outcome
    history_loaded = Signal(object)  # list[tasks.PastRun]

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.outcome: tasks.Outcome | None = None  # what the page shows (a run, or a past one)
        self.history: list[tasks.PastRun] = []
        self._build()
        self._set_running(False)

    def _build(self) -> None:
        header, _ = page_header(
            "Back-test", "Run models over the full history, per month, quarter or year: "
            "metrics against the requirements, challengers against the champion.")
        self.setup = BacktestSetup(self.ctx)
        self.setup.changed.connect(lambda: self._set_running(self.panel.running))
        self.picker = self.setup.picker  # the champion
        self.banner = Banner()
        self.panel = RunPanel(self.ctx, verdict=self.banner,
                              failed="The back-test could not run; nothing was recorded.",
                              cancelled="Cancelled: nothing was recorded.")
        self.run_button = self.panel.add_button("Run back-test", self.run, default=True)
        self.panel.offer_report(self._report)
        self.panel.row.addStretch(1)
        self.panel.busy_changed.connect(self._set_running)
        self.panel.run_failed.connect(lambda _exc: self._nothing_new())
        self.panel.run_cancelled.connect(self._nothing_new)
        self.results = Results()
        self.results.past_chosen.connect(self.show_past)

        layout = QVBoxLayout(self)
        layout.addWidget(header)
        layout.addWidget(self.setup)
        layout.addWidget(self.panel)
        layout.addWidget(self.banner)
        layout.addWidget(self.results, 1)

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running and self.setup.ready())
        self.setup.set_enabled(not running)

    def set_snapshot(self, snap: Snapshot) -> None:
        """The installed models changed (the Models page read them)."""
        self.setup.set_snapshot(snap)
        self._set_running(self.panel.running)

    def showEvent(self, event) -> None:
        """Each time the page comes into view, the history is read again (a back-test run
        from the command line meanwhile shows up)."""
        super().showEvent(event)
        self.refresh()

    # -- history ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the past back-tests (a run in progress refreshes them itself)."""
        self.panel.read_history("back-test history", tasks.history, self.ctx.workspace,
                                then=self._history_loaded)

    def _history_loaded(self, runs: list[tasks.PastRun]) -> None:
        self.history = runs
        fill_history(self.results.history, runs)
        self.history_loaded.emit(runs)

    def show_past(self, row: int) -> None:
        """Show a back-test of the history again (its report can be exported again too)."""
        if self.panel.running or not 0 <= row < len(self.history):
            return
        past = self.history[row]
        self.outcome = tasks.Outcome(past.result, None, self.history)
        self.banner.show_result(past.result)
        self.results.show_result(past.result)
        self.panel.showing_result()
        self.panel.say(f"Showing back-test {past.id} of {when(past.at)}, from the history.")
        self.panel.update_buttons()

    # -- running ---------------------------------------------------------------------------
    def run(self) -> None:
        setup = self.setup.setup()
        if self.panel.running or setup is None:
            return
        if self.outcome is None:  # else the last good result stays until this one is in
            self.results.reset("Running…")
        self.panel.run("back-test", tasks.run, self.ctx.workspace, setup, then=self._finished,
                       message=f"Back-testing on {setup.corpus.name}…")

    def _finished(self, outcome: tasks.Outcome) -> None:
        self.outcome = outcome
        result = outcome.result
        log.info("back-test %s of %s on %s: %s", outcome.run_id, result.champion,
                 result.corpus, "passed" if result.passed else "requirements missed")
        self.banner.show_result(result, outcome.run_id)
        self.results.show_result(result)
        self._history_loaded(outcome.history)
        self.run_finished.emit(outcome)

    def _nothing_new(self) -> None:
        """The run failed or was cancelled: the last good result stays (the panel says why
        beside it); without one, the chart no longer says "Running…"."""
        if self.outcome is None:
            self.results.reset("No result: the last run did not finish.")

    # -- report ----------------------------------------------------------------------------
    def _report(self) -> Report | None:
        if self.outcome is None:
            return None
        result = self.outcome.result
        return Report("back-test report", "Export the back-test report",
                      f"{result.champion.replace('@', '-')}-backtest-{result.by}.html",
                      partial(tasks.export_report, workspace=self.ctx.workspace), (result,))
