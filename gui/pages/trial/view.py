"""One trial as the Trial page shows it: champion and challenger, its progress toward the
declared batches or days, the shadow comparison over time (a chart), both side by side, every
observation, Accept and Reject while it runs, and after the decision what was recorded
(for an acceptance: the requirement steps, and that a rollback is one action away)."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gui.charts import LineChart
from gui.colors import GREEN, MUTED, MUTED_STYLE, RED
from gui.pages.trial import tables
from gui.tables import when
from gui.tasks.trial import Shown

STEPS = 1000
NO_TRIAL = ("No trial is running. Gate a candidate on the Promotion gate tab; when it is "
            "accepted, start its trial: the challenger then runs in shadow beside the champion "
            "on every prediction batch and now-test, and its outputs never reach the operator.")


def ask_reason(parent: QWidget, challenger: str) -> str | None:
    """The reason for rejecting, required (None: the operator gave up)."""
    label = f"Why is {challenger} rejected? The reason is recorded with the trial."
    while True:
        text, ok = QInputDialog.getMultiLineText(parent, "Reject the challenger", label)
        if not ok:
            return None
        if text.strip():
            return text.strip()
        label = f"A reason is required to reject {challenger}; it is recorded with the trial."


def _bar() -> QProgressBar:
    bar = QProgressBar()
    bar.setRange(0, STEPS)
    bar.setTextVisible(True)
    bar.setMinimumWidth(200)
    return bar


class TrialView(QWidget):
    accept_requested = Signal()
    reject_requested = Signal()
    refresh_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.shown: Shown | None = None
        self._busy = False
        self._choice: tuple[int, str] | None = None  # (trial, what the operator chose to plot)
        self._build()
        self.show_trial(None)

    def _build(self) -> None:
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        self.facts = QLabel()
        self.facts.setWordWrap(True)
        self.facts.setTextFormat(Qt.TextFormat.PlainText)
        self.facts.setStyleSheet(MUTED_STYLE)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.decision = QLabel()
        self.decision.setWordWrap(True)
        self.decision.setTextFormat(Qt.TextFormat.RichText)
        self.decision.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.batches_bar = _bar()
        self.days_bar = _bar()
        self.due = QLabel()
        self.accept_button = QPushButton("Accept…")
        self.accept_button.setToolTip("Activate the challenger and ratchet the requirements up "
                                      "(confirmed first; recorded)")
        self.accept_button.clicked.connect(self.accept_requested)
        self.reject_button = QPushButton("Reject…")
        self.reject_button.setToolTip("Close the trial; the champion stays (a reason is "
                                      "required and recorded)")
        self.reject_button.clicked.connect(self.reject_requested)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh_requested)
        bar_row = QHBoxLayout()
        bar_row.addWidget(self.batches_bar, 2)
        bar_row.addWidget(self.days_bar, 2)
        bar_row.addWidget(self.due, 3)
        bar_row.addWidget(self.accept_button)
        bar_row.addWidget(self.reject_button)
        bar_row.addWidget(self.refresh_button)

        self.chart_combo = QComboBox()
        self.chart_combo.setMinimumContentsLength(14)
        self.chart_combo.currentIndexChanged.connect(lambda _i: self._draw())
        self.chart_combo.activated.connect(lambda _i: self._remember_choice())
        self.chart = LineChart()
        self.chart.setMinimumSize(300, 180)
        self.chart_note = QLabel()
        self.chart_note.setStyleSheet(MUTED_STYLE)
        self.chart_note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top = QHBoxLayout()
        top.addWidget(QLabel("Show:"))
        top.addWidget(self.chart_combo)
        top.addWidget(self.chart_note, 1)
        chart_box = QGroupBox("Shadow comparison over time")
        chart_layout = QVBoxLayout(chart_box)
        chart_layout.addLayout(top)
        chart_layout.addWidget(self.chart, 1)

        self.side_summary = QLabel()
        self.side_summary.setWordWrap(True)
        self.side_summary.setTextFormat(Qt.TextFormat.RichText)
        self.side = tables.side_table()
        side_box = QGroupBox("Side by side, over every observation")
        side_layout = QVBoxLayout(side_box)
        side_layout.addWidget(self.side_summary)
        side_layout.addWidget(self.side, 1)

        upper = QSplitter(Qt.Orientation.Horizontal)
        upper.addWidget(chart_box)
        upper.addWidget(side_box)
        upper.setSizes([560, 440])
        self.observations = tables.observations_table()
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 4, 0, 0)
        lower_layout.addWidget(QLabel("Shadow observations (newest first): the challenger's "
                                      "outputs stay in the trial folder"))
        lower_layout.addWidget(self.observations, 1)
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.addWidget(upper)
        self.split.addWidget(lower)
        self.split.setSizes([330, 170])

        self.placeholder = QLabel(NO_TRIAL)
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet(f"{MUTED_STYLE} font-size: 11pt; padding: 40px;")
        self.body = QWidget()
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.title)
        body.addWidget(self.facts)
        body.addWidget(self.decision)
        body.addLayout(bar_row)
        body.addWidget(self.split, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.placeholder)
        layout.addWidget(self.body, 1)

    # -- showing ---------------------------------------------------------------------------
    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.shown is not None and self.shown.running
        self.accept_button.setEnabled(running and not self._busy)
        self.reject_button.setEnabled(running and not self._busy)
        self.refresh_button.setEnabled(not self._busy)

    def show_trial(self, shown: Shown | None, measured: dict | None = None) -> None:
        """``measured``: what the acceptance just measured (shown beside its steps)."""
        self.shown = shown
        self.placeholder.setVisible(shown is None)
        self.body.setVisible(shown is not None)
        self._update_buttons()
        if shown is None:
            return
        s = shown.status
        e = html.escape
        state = {"running": "running", "accepted": "accepted", "rejected": "rejected",
                 "rolled-back": "accepted, then rolled back"}.get(s.status, s.status)
        color = {"accepted": GREEN.name(), "rejected": RED.name(),
                 "rolled-back": RED.name()}.get(s.status, "#0072B2")
        self.title.setText(
            f"<span style='font-size:large'><b>Trial {s.id}</b> "
            f"<span style='color:{color}'><b>{e(state)}</b></span>: challenger "
            f"<b>{e(s.challenger)}</b> in shadow beside champion <b>{e(s.champion)}</b></span>")
        self.facts.setText(
            f"Started {when(s.started_at)} by {s.started_by}, after gate run {s.gate_id} "
            f"({s.gate_verdict.upper() or 'not found'}). The challenger's outputs are written "
            f"to {s.folder} only.")
        self._show_targets(shown)
        self._show_decision(shown, measured)
        self.side_summary.setText(tables.side_summary(s))
        tables.fill_side(self.side, shown)
        tables.fill_observations(self.observations, shown)
        self._fill_choices(shown)

    def _show_targets(self, shown: Shown) -> None:
        s = shown.status
        self.batches_bar.setVisible(s.batches_target is not None)
        uncounted = ""
        if s.batches_target is not None:
            self.batches_bar.setValue(round(min(1.0, s.batches_done / s.batches_target) * STEPS))
            self.batches_bar.setFormat(f"{s.batches_done} of {s.batches_target} batches")
            if len(s.observations) > s.batches_done:
                uncounted = (f" {s.batches_done} of the {len(s.observations)} observations "
                             "count as batches: a repeat of an input already seen, or a "
                             "failed shadow run, does not count.")
            self.batches_bar.setToolTip("Batches: the different inputs the challenger ran on "
                                        "successfully." + uncounted)
        self.days_bar.setVisible(s.days_target is not None)
        if s.days_target is not None:
            self.days_bar.setValue(round(min(1.0, s.days_elapsed / s.days_target) * STEPS))
            self.days_bar.setFormat(f"{s.days_elapsed:.1f} of {s.days_target:g} days")
        if not shown.running:
            text, color = f"Ran {s.progress or 'without a target'}.", MUTED
        elif s.due:
            text, color = "Due: it has run its course and can be accepted.", GREEN.name()
        else:
            text, color = ("Not due yet: accepting now would override the declared "
                           "length (recorded).", "#8a5a00")
        self.due.setText(text + uncounted)
        self.due.setWordWrap(True)
        self.due.setStyleSheet(f"color: {color};")

    def _show_decision(self, shown: Shown, measured: dict | None) -> None:
        s = shown.status
        if shown.running:
            self.decision.setVisible(False)
            return
        e = html.escape
        forced = f" <b style='color:{RED.name()}'>(forced)</b>" if s.forced else ""
        text = (f"<b>{e(s.status.capitalize())}</b>{forced} {when(s.closed_at or '')} by "
                f"{e(s.closed_by or '')}: {e(s.reason or '')}")
        if s.status == "accepted":
            text += (f"<br>{e(s.challenger)} became the active version. "
                     f"{tables.steps_html(s, measured)}Rollback to {e(s.champion)} is one "
                     "action on the Models page (Roll back); it restores the champion's "
                     "requirements too.")
        elif s.status == "rolled-back":
            text += f"<br>Rolled back since: {e(s.champion)} is active again. " + \
                tables.steps_html(s, measured)
        self.decision.setText(text)
        self.decision.setVisible(True)

    def _remember_choice(self) -> None:
        if self.shown is not None:
            self._choice = (self.shown.status.id, self.chart_combo.currentText())

    def _fill_choices(self, shown: Shown) -> None:
        """The operator's choice stays while the same trial is shown; otherwise the primary
        metric once labelled observations exist, else the agreement."""
        choices = tables.chart_choices(shown)
        choice = tables.default_choice(shown, choices)
        if self._choice is not None and self._choice[0] == shown.status.id \
                and self._choice[1] in choices:
            choice = self._choice[1]
        self.chart_combo.blockSignals(True)
        self.chart_combo.clear()
        self.chart_combo.addItems(choices)
        self.chart_combo.setCurrentText(choice)
        self.chart_combo.blockSignals(False)
        self._draw()

    def _draw(self) -> None:
        if self.shown is None or not self.chart_combo.currentText():
            return
        if not any(o.error is None and o.comparison for o in self.shown.status.observations):
            s = self.shown.status
            self.chart.clear(f"No shadow observation yet: every prediction batch and now-test "
                             f"of {s.champion} is repeated with {s.challenger}, and compared "
                             "here.")
            self.chart_note.setText("")
            return
        cats, series, lines, label = tables.chart_data(self.shown, self.chart_combo.currentText())
        self.chart.set_data(cats, series, lines, label)
        labelled = self.chart_combo.currentText() in tables.metric_names(
            self.shown.status, self.shown.metric)
        self.chart_note.setText("Observations with the true outcome" if labelled
                                else "Every successful observation")
