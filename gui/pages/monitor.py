"""The Monitor page: is the model still holding up on the latest data?

Top: the model shown (one installed model, or all of them, a now-test then choosing its model
by the file's columns), the watcher's status, "Now-test a file…" and "Use the demo data".
Then the alarms (open ones first, with Acknowledge), the now-tests over time as a chart (the
measured metric where files had labels, the label-free estimate, the requirement's minimum),
the list of now-tests, and the drift per feature of the now-test chosen in that list.
Everything is read and written by jobs (a now-test in the page's run panel, gui.run_panel);
the page refreshes when the folder watcher reports a file, and a newer read supersedes one
still in progress.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gui import errors
from gui.charts import LineChart
from gui.context import AppContext
from gui.pages.model_picker import ModelPicker
from gui.pages.monitor_chart import chart_data, draw_multivariate
from gui.pages.monitor_quality import QualityPanel
from gui.pages.monitor_status import OneLineLabel, status_color
from gui.pages.monitor_tables import (
    alarm_summary,
    alarms_table,
    drift_table,
    fill_alarms,
    fill_drift,
    fill_nowtests,
    nowtests_table,
    selected_ids,
)
from gui.pages.segment_choice import SegmentChoice
from gui.pages.segments_panel import SegmentsPanel
from gui.run_panel import RunPanel
from gui.tables import when
from gui.tasks import monitor as tasks
from gui.watching import WatchStatus
from gui.widgets import page_header

log = logging.getLogger(__name__)

ALL_MODELS = "All models (a now-test by the file's columns)"


class MonitorPage(QWidget):
    loaded = Signal(object)  # tasks.MonitorData
    acknowledged = Signal(object)  # list of Alarm
    nowtest_finished = Signal(object)  # engine.monitoring.MonitorOutcome
    alarms_raised = Signal(object)  # list of new Alarm from a now-test run here
    open_alarms_changed = Signal(int)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.data: tasks.MonitorData | None = None  # everything loaded
        self.shown: tasks.MonitorData | None = None  # the chosen model's part of it
        self._build()
        self.show_watch_status(WatchStatus())

    def _build(self) -> None:
        header, _ = page_header(
            "Monitor", "Now-tests of the latest data: the requirement checked where files "
            "carry labels, drift and a label-free estimate where they do not, and the alarms "
            "raised when the model falters.")
        self.panel = RunPanel(self.ctx, failed="The now-test could not run; nothing was "
                              "recorded.", cancelled="Cancelled: nothing was recorded.")
        self.picker = ModelPicker(by_file=ALL_MODELS)
        self.picker.setToolTip("The model whose alarms and now-tests are shown, and which "
                               "“Now-test a file…” uses; “All models”: every model's, and a "
                               "now-test uses the one model whose inputs the file has.")
        self.picker.changed.connect(self._show_model)
        self.segment = self.panel.add(SegmentChoice(
            self.ctx, "Break the now-test down by the values of one of the model's category "
            "inputs (the 20 largest, the rest as \"other\"); with \"All models\" the model is "
            "known only from the file, so there is none to choose."))
        self.watch_status = self.panel.add(OneLineLabel(), 1)
        self.nowtest_button = self.panel.add_button("Now-test a file…", self._choose_file)
        self.demo_button = self.panel.add_button("Use the demo data", self.use_demo_data)
        self.demo_button.setToolTip("Now-test a labelled month of 2013 flights, after the "
                                    "demo model's training months, with the demo model.")
        self.panel.busy_changed.connect(lambda _busy: self._update_buttons())

        self.alarms = alarms_table()
        self.alarms.itemSelectionChanged.connect(self._update_buttons)
        self.ack_button = QPushButton("Acknowledge")
        self.ack_button.setToolTip("Mark the selected alarms as seen and dealt with; the same "
                                   "problem again raises a new alarm.")
        self.ack_button.clicked.connect(self.acknowledge_selected)
        self.show_acknowledged = QCheckBox("Show acknowledged")
        self.show_acknowledged.toggled.connect(lambda _on: self.refresh())
        self.alarm_summary = QLabel()
        alarm_bar = QHBoxLayout()
        alarm_bar.addWidget(self.alarm_summary, 1)
        alarm_bar.addWidget(self.show_acknowledged)
        alarm_bar.addWidget(self.ack_button)
        alarm_box = QGroupBox("Alarms")
        alarm_layout = QVBoxLayout(alarm_box)
        alarm_layout.addLayout(alarm_bar)
        alarm_layout.addWidget(self.alarms)

        self.chart = LineChart()
        self.model_combo = QComboBox()
        self.model_combo.setMinimumContentsLength(24)  # model ids readable, not "demo-fli…"
        self.model_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.currentIndexChanged.connect(lambda _i: self._draw_chart())
        chart_box = QGroupBox("Now-tests over time")
        chart_layout = QVBoxLayout(chart_box)
        model_row = QHBoxLayout()
        model_row.addWidget(QLabel("Version:"))  # of the model chosen above (or any)
        model_row.addWidget(self.model_combo)
        model_row.addStretch(1)
        chart_layout.addLayout(model_row)
        chart_layout.addWidget(self.chart, 1)
        self.multivariate = LineChart()  # the inputs together (multivariate drift) over time
        chart_layout.addWidget(self.multivariate, 1)

        self.nowtests = nowtests_table()
        self.nowtests.itemSelectionChanged.connect(self._show_selected_drift)
        self.drift = drift_table()
        self.drift_title = QLabel("Drift per feature")
        lists = QWidget()
        lists_layout = QVBoxLayout(lists)
        lists_layout.setContentsMargins(0, 0, 0, 0)
        lists_layout.addWidget(QLabel("Now-tests (newest first)"))
        lists_layout.addWidget(self.nowtests, 2)
        lists_layout.addWidget(self.drift_title)
        lists_layout.addWidget(self.drift, 3)
        self.quality = QualityPanel()  # the chosen now-test's data-quality rules
        lists_layout.addWidget(self.quality, 2)
        self.segments = SegmentsPanel()  # the chosen now-test's segments (--segment)
        lists_layout.addWidget(self.segments, 2)

        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(chart_box)
        lower.addWidget(lists)
        lower.setSizes([520, 480])
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(alarm_box)
        self.splitter.addWidget(lower)
        self.splitter.setSizes([250, 450])

        layout = QVBoxLayout(self)
        layout.addWidget(header)
        layout.addWidget(self.picker)  # a row of its own: the watch status keeps its width
        layout.addWidget(self.panel)
        layout.addWidget(self.splitter, 1)
        self._update_buttons()

    def _update_buttons(self) -> None:
        ids = set(selected_ids(self.alarms))
        open_ids = {a.id for a in (self.data.alarms if self.data else [])
                    if a.acknowledged_at is None}
        self.ack_button.setEnabled(bool(ids & open_ids))
        self.nowtest_button.setEnabled(not self.panel.running)
        self.demo_button.setEnabled(not self.panel.running)
        self.picker.setEnabled(not self.panel.running)

    # -- the watcher -----------------------------------------------------------------------
    def show_watch_status(self, status: WatchStatus) -> None:
        self.watch_status.setText(status.text())
        self.watch_status.setStyleSheet(f"color: {status_color(status)};")

    def watcher_event(self, event) -> None:
        """A file was now-tested in the background: show it (a success clears an earlier
        "could not run" message, as a new run of the page's own does)."""
        if getattr(event, "state", None) == "done":
            self.panel.say("")
        self.refresh()

    # -- loading ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload the alarms and now-tests (superseding a load still in progress)."""
        self.ctx.run("monitor data", tasks.load_monitor, self.ctx.workspace,
                     self.show_acknowledged.isChecked(), key="monitor data",
                     on_finished=self._loaded, parent=self)

    def set_snapshot(self, snap) -> None:
        """The installed models changed (gui.tasks.models.Snapshot): offer their active
        versions."""
        self.picker.set_snapshot(snap)

    def _loaded(self, data: tasks.MonitorData) -> None:
        self.data = data
        self._show(data)
        self.open_alarms_changed.emit(data.open_alarms)  # every model's, for the status bar
        self.loaded.emit(data)

    def _show_model(self) -> None:
        self.segment.load(self.picker.model_id())
        if self.data is not None:
            self._show(self.data)

    def _show(self, everything: tasks.MonitorData) -> None:
        """Fill the tables and chart with the chosen model's alarms and now-tests."""
        self.shown = data = tasks.for_model(everything, self.picker.model_id())
        fill_alarms(self.alarms, data.alarms)
        self.alarm_summary.setText(alarm_summary(data))
        # Keep an older now-test the operator is reading; otherwise follow the newest.
        selected = self._selected_nowtest_id()
        if self.nowtests.rowCount() and selected == self.nowtests.item(0, 0).data(
                Qt.ItemDataRole.UserRole):
            selected = None
        fill_nowtests(self.nowtests, data.nowtests, data.requirements)
        self._fill_models(data.nowtests)
        self._draw_chart()
        self._select_nowtest(selected)
        self._update_buttons()

    def _fill_models(self, nowtests: list[dict]) -> None:
        keep = self.model_combo.currentText()
        models = list(dict.fromkeys(t.get("model", "") for t in nowtests))
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self.model_combo.addItems(models)
        index = self.model_combo.findText(keep)
        self.model_combo.setCurrentIndex(index if index >= 0 else 0 if models else -1)
        self.model_combo.blockSignals(False)

    def _draw_chart(self) -> None:
        nowtests = self.shown.nowtests if self.shown else []
        draw_multivariate(self.multivariate, nowtests, self.model_combo.currentText() or None)
        if not nowtests:
            self.chart.clear("No now-tests yet. Drop a CSV into the watch folder or use "
                             "“Now-test a file…”.")
            return
        data = chart_data(nowtests, self.model_combo.currentText() or None,
                          self.shown.requirements)
        if not data.series:
            self.chart.clear("These now-tests have no metric to plot yet.")
            return
        self.chart.set_data(data.categories, data.series, data.lines, data.y_label)

    # -- now-test selection and drift ------------------------------------------------------
    def _selected_nowtest_id(self) -> int | None:
        rows = self.nowtests.selectionModel().selectedRows()
        if not rows:
            return None
        return self.nowtests.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)

    def _select_nowtest(self, nowtest_id: int | None) -> None:
        row = 0
        for r in range(self.nowtests.rowCount()):
            if self.nowtests.item(r, 0).data(Qt.ItemDataRole.UserRole) == nowtest_id:
                row = r
        if self.nowtests.rowCount():
            self.nowtests.selectRow(row)
        self._show_selected_drift()

    def _show_selected_drift(self) -> None:
        chosen = self._selected_nowtest_id()
        nowtest = next((t for t in (self.data.nowtests if self.data else [])
                        if t.get("id") == chosen), None)
        fill_drift(self.drift, nowtest.get("result") if nowtest else None)
        self.quality.show_nowtest(nowtest)
        self.segments.show_nowtest(nowtest)
        if nowtest is None:
            self.drift_title.setText("Drift per feature")
            return
        drifted = sum(bool(d.get("drifted")) for d in nowtest["result"].get("drift") or [])
        self.drift_title.setText(
            f"Drift per feature in {Path(nowtest.get('input', '')).name} "
            f"(now-test #{nowtest.get('id')}): {drifted} drifted")

    # -- acknowledging ---------------------------------------------------------------------
    def acknowledge_selected(self) -> None:
        open_ids = {a.id for a in (self.data.alarms if self.data else [])
                    if a.acknowledged_at is None}
        ids = [i for i in selected_ids(self.alarms) if i in open_ids]
        if not ids:
            return
        self.ack_button.setEnabled(False)
        self.ctx.run("acknowledge alarms", tasks.acknowledge_alarms, self.ctx.workspace, ids,
                     on_finished=self._acknowledged, on_failed=self._ack_failed)

    def _acknowledged(self, outcome: tasks.Acknowledged) -> None:
        done = len(outcome.alarms)
        text = f"Acknowledged {done} alarm{'' if done == 1 else 's'}."
        if outcome.skipped:
            named = "; ".join(f"#{a.id} ({a.model}, {a.subject}) by {a.acknowledged_by or '?'} "
                              f"{when(a.acknowledged_at)}" for a in outcome.skipped[:3])
            more = len(outcome.skipped) - 3
            text += f" Already acknowledged meanwhile, so left as they were: {named}" + (
                f" and {more} more" if more > 0 else "") + "."
        self.panel.say(text)
        self.acknowledged.emit(outcome.alarms)
        self.refresh()

    def _ack_failed(self, exc: BaseException) -> None:
        self._update_buttons()
        self.refresh()  # some may have been acknowledged before the failure
        errors.show_exception(self, exc)

    # -- now-testing a file ----------------------------------------------------------------
    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Now-test a CSV file",
                                              self.ctx.settings.last_input_dir,
                                              "CSV files (*.csv);;All files (*)")
        if path:
            self.ctx.settings.last_input_dir = str(Path(path).parent)
            self.nowtest(Path(path), self.picker.model_id())

    def use_demo_data(self) -> None:
        """Now-test the shipped demo month with the demo model; the page then shows it."""
        self.picker.choose(tasks.DEMO_MODEL)
        self.panel.run("now-test", tasks.nowtest_demo, self.ctx.workspace,
                       then=self._nowtested, message="Now-testing the demo data…")

    def nowtest(self, path: Path, model_ref: str | None = None) -> None:
        """Now-test ``path`` with ``model_ref`` (None: the one model whose inputs the file's
        header covers; several or none: the failure says which)."""
        segments = self.segment.chosen() if model_ref is not None else ()
        self.panel.run("now-test", tasks.nowtest_file, self.ctx.workspace, Path(path), model_ref,
                       segments, then=self._nowtested,
                       message=f"Now-testing {Path(path).name}…")

    def _nowtested(self, outcome) -> None:
        result = outcome.result
        reasons = [r.message.removeprefix(f"{result.model}: ") for r in result.reasons]
        verdict = "no alarm" if not reasons else f"ALARM: {reasons[0].rstrip('.')}" + (
            f" (and {len(reasons) - 1} more reason{'s' if len(reasons) > 2 else ''}, below)"
            if len(reasons) > 1 else "")
        text = f"Now-tested {Path(result.input).name} with {result.model}: {result.rows:,} " \
               f"rows, {result.labelled:,} labelled; {verdict}."
        if outcome.email_error:
            text += f" The alarm e-mail could not be sent: {outcome.email_error}"
        self.panel.say(text, error=result.alarm)
        self.nowtest_finished.emit(outcome)
        if outcome.new_alarms:
            self.alarms_raised.emit(list(outcome.new_alarms))
        self.refresh()
