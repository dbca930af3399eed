"""The Trial page's "Promotion gate" tab: the choices, Run gate, Start trial with its declared
length, the run panel (progress, Cancel, Export report), and the verdict. It asks for the gate
and the start (signals; the page runs those jobs in this tab's panel)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.trial.gate_result import GateResult
from engine.trial.trial import DEFAULT_BATCHES
from gui.context import AppContext
from gui.pages.trial.forward import GateForward
from gui.pages.trial.gate_form import GateForm
from gui.pages.trial.verdict import GateVerdict
from gui.run_panel import Report, RunPanel
from gui.tasks import trial as tasks
from gui.tasks.trial import GateSetup

START_TIP = ("Enabled after the gate accepts this candidate with these choices. That gate run "
             "is used as it is (refused if the bundle, the champion or the requirements "
             "changed since); the candidate is installed (not activated) and runs in shadow "
             "beside the champion.")


class GateTab(QWidget):
    run_requested = Signal()
    start_requested = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self._accepted_setup: GateSetup | None = None
        self._busy = False
        self._running_challenger: str | None = None
        self.form = GateForm(ctx)
        self.form.changed.connect(self._changed)
        self.verdict = GateVerdict()
        self.forward = GateForward()  # lower the bound / accept anyway, when the champion
        # misses the bound too
        self.panel = RunPanel(
            ctx, verdict=self.verdict,
            failed="The gate could not run; nothing was recorded or installed.",
            cancelled="Cancelled: nothing was recorded or installed.")
        self.run_button = self.panel.add_button("Run gate", self.run_requested.emit,
                                                default=True)
        self.panel.row.addSpacing(12)
        self.start_button = self.panel.add_button("Start trial…", self.start_requested.emit)
        self.batches_check = QCheckBox("for")
        self.batches_check.setChecked(True)
        self.batches_spin = QSpinBox()
        self.batches_spin.setRange(1, 100_000)
        self.batches_spin.setValue(DEFAULT_BATCHES)
        self.batches_spin.setSuffix(" batches")
        self.batches_spin.setToolTip("Shadow observations (prediction batches and now-tested "
                                     "files) before it can be accepted")
        self.days_check = QCheckBox("and / or")
        self.days_spin = QDoubleSpinBox()
        self.days_spin.setRange(0.1, 3650)
        self.days_spin.setDecimals(1)
        self.days_spin.setValue(7.0)
        self.days_spin.setSuffix(" days")
        self.days_spin.setEnabled(False)
        self.batches_check.toggled.connect(lambda on: self.batches_spin.setEnabled(
            on and not self._busy))
        self.days_check.toggled.connect(lambda on: self.days_spin.setEnabled(
            on and not self._busy))
        for w in (self.batches_check, self.batches_spin, self.days_check, self.days_spin):
            self.panel.add(w)
        self.panel.row.addStretch(1)
        self.panel.offer_report(self._report)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.form)
        layout.addWidget(self.panel)
        layout.addWidget(self.forward)
        layout.addWidget(self.verdict, 1)
        self.set_busy(False)

    def _changed(self) -> None:
        self.set_busy(self._busy)

    def candidate_name(self) -> str:
        chosen = self.form.candidate()
        return chosen.name if isinstance(chosen, Path) else str(chosen)

    def targets(self) -> tuple[int | None, float | None]:
        """The declared length (None, None: the engine's default)."""
        return (self.batches_spin.value() if self.batches_check.isChecked() else None,
                self.days_spin.value() if self.days_check.isChecked() else None)

    def accepted_label(self) -> str | None:
        """The candidate ("ID@V") whose accepting gate run used exactly the current choices."""
        result = self.verdict.result
        if (self._accepted_setup is None or result is None
                or self.form.setup() != self._accepted_setup):
            return None
        return result.candidate

    def show_result(self, result: GateResult, accepted_setup: GateSetup | None,
                    note: str = "", live: bool = True) -> None:
        """``live``: the run was just made with the form's choices (not one of the history),
        so a rejection the champion shares may be taken forward from here."""
        self._accepted_setup = accepted_setup
        self.verdict.show_result(result, note)
        self.forward.show_result(result if live else None)

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.form.set_enabled(not busy)
        self.forward.set_enabled(not busy)
        if busy:
            self.forward.show_result(None)
        self.run_button.setEnabled(not busy and self.form.ready())
        self.panel.update_buttons()
        self.batches_check.setEnabled(not busy)
        self.days_check.setEnabled(not busy)
        self.batches_spin.setEnabled(not busy and self.batches_check.isChecked())
        self.days_spin.setEnabled(not busy and self.days_check.isChecked())
        self.update_start(busy, self._running_challenger)

    def update_start(self, busy: bool, running_challenger: str | None) -> None:
        """``running_challenger``: the challenger of a trial of the same model already
        running (one trial per model)."""
        self._running_challenger = running_challenger
        label = self.accepted_label()
        self.start_button.setEnabled(not busy and label is not None
                                     and running_challenger is None)
        if label is not None and running_challenger is not None:
            self.start_button.setToolTip(f"A trial of {running_challenger} is running for this "
                                         "model; accept or reject it first.")
        else:
            self.start_button.setToolTip(START_TIP)

    # -- the report ------------------------------------------------------------------------
    def _report(self) -> Report | None:
        """The shown verdict's report (engine.trial.gate_report), while nothing runs."""
        result = self.verdict.result
        if result is None or self._busy:
            return None
        name = Path(result.report).name if result.report else \
            f"gate-{result.candidate.replace('@', '-')}.html"
        return Report("gate report", "Export the gate report", name,
                      partial(tasks.export_report, workspace=self.ctx.workspace), (result,))
