"""The Trial page's "Promotion gate" tab: the choices, Run gate (with progress and Cancel),
Start trial with its declared length, the verdict, and Export report. It asks for the gate and
the start (signals; the page runs those jobs) and writes the report itself."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.ground.paths import Workspace
from engine.trial.gate_result import GateResult
from engine.trial.trial import DEFAULT_BATCHES
from gui import dialogs, errors
from gui.context import AppContext
from gui.pages.trial.gate_form import GateForm
from gui.pages.trial.verdict import GateVerdict
from gui.tasks import trial as tasks
from gui.tasks.trial import GateSetup
from gui.widgets import ProgressPanel

START_TIP = ("Enabled after the gate accepts this candidate with these choices. That gate run "
             "is used as it is (refused if the bundle, the champion or the requirements "
             "changed since); the candidate is installed (not activated) and runs in shadow "
             "beside the champion.")


class GateTab(QWidget):
    run_requested = Signal()
    start_requested = Signal()
    cancel_requested = Signal()
    report_written = Signal(object)  # Path

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self._accepted_setup: GateSetup | None = None
        self._busy = False
        self._running_challenger: str | None = None
        self.form = GateForm(ctx)
        self.form.changed.connect(self._changed)
        self.run_button = QPushButton("Run gate")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run_requested)
        self.start_button = QPushButton("Start trial…")
        self.start_button.clicked.connect(self.start_requested)
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
        self.export_button = QPushButton("Export report…")
        self.export_button.clicked.connect(self._choose_report)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #555;")
        self.message.setVisible(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addSpacing(12)
        buttons.addWidget(self.start_button)
        for w in (self.batches_check, self.batches_spin, self.days_check, self.days_spin):
            buttons.addWidget(w)
        buttons.addStretch(1)
        buttons.addWidget(self.message, 2)
        buttons.addWidget(self.export_button)
        self.progress = ProgressPanel()
        self.progress.cancel_requested.connect(self.cancel_requested)
        self.progress.hide()
        self.verdict = GateVerdict()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.verdict, 1)
        self.set_busy(False)

    def _changed(self) -> None:
        self.set_busy(self._busy)

    def say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

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
                    note: str = "") -> None:
        self._accepted_setup = accepted_setup
        self.verdict.show_result(result, note)

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.form.set_enabled(not busy)
        self.run_button.setEnabled(not busy and self.form.ready())
        self.export_button.setEnabled(not busy and self.verdict.result is not None)
        self.batches_check.setEnabled(not busy)
        self.days_check.setEnabled(not busy)
        self.batches_spin.setEnabled(not busy and self.batches_check.isChecked())
        self.days_spin.setEnabled(not busy and self.days_check.isChecked())
        if not busy:
            self.progress.stop()
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
    def _choose_report(self) -> None:
        result = self.verdict.result
        if result is None:
            return
        name = Path(result.report).name if result.report else \
            f"gate-{result.candidate.replace('@', '-')}.html"
        path = dialogs.choose_report_path(self, "Export the gate report",
                                          Workspace(self.ctx.workspace).reports_dir / name)
        if path is not None:
            self.export_report(path)

    def export_report(self, path: Path) -> None:
        """The shown verdict's report (engine.trial.gate_report), written atomically."""
        if self.verdict.result is None:
            return
        self.ctx.run("gate report", tasks.export_report, self.verdict.result, Path(path),
                     on_finished=self._exported,
                     on_failed=lambda exc: errors.show_exception(self, exc))

    def _exported(self, path: Path) -> None:
        self.say(f"Report saved to {path}.")
        self.report_written.emit(path)
