"""The Requirements page: a model's current (ratcheted) requirements, the baseline they came
from, the history of ratchet steps; "Propose ratchet" suggests new bounds from the last
regression run (never lower than today's) and "Apply…" records them, with a reason.

Every engine call runs as a job (gui.workers) in the page's run panel (gui.run_panel); this
widget only shows what they return.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QInputDialog,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from engine.errors import EngineError
from gui import errors
from gui.colors import RED
from gui.context import AppContext
from gui.pages.model_picker import ModelPicker
from gui.pages.regression_requirements import (
    baseline_html,
    fill_proposals,
    fill_requirements,
    fill_steps,
    proposals_table,
    requirements_table,
    steps_table,
)
from gui.run_panel import RunPanel
from gui.tasks import regression as tasks
from gui.widgets import page_header

log = logging.getLogger(__name__)
READ_KEY = "requirements: the chosen model's"


class RequirementsPage(QWidget):
    loaded = Signal(object)  # tasks.RequirementsView
    proposed = Signal(object)  # tasks.Proposed
    applied = Signal(int)  # steps recorded

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.view: tasks.RequirementsView | None = None
        self.proposal: tasks.Proposed | None = None
        self._build()
        self._set_busy(False)

    def _build(self) -> None:
        header, _ = page_header(
            "Requirements", "The performance a model must keep on its reference sample. After "
            "a model is accepted, Ratchet proposes stricter bounds from what it measured; they "
            "never go down unless someone overrides it, on the record.")
        self.picker = ModelPicker()
        self.picker.changed.connect(self._model_changed)
        self.requirements = requirements_table()
        self.baseline = QLabel()
        self.baseline.setWordWrap(True)
        self.baseline.setTextFormat(Qt.TextFormat.RichText)
        current = QGroupBox("Current requirements")
        box = QVBoxLayout(current)
        box.addWidget(self.requirements)
        box.addWidget(self.baseline)

        self.panel = RunPanel(self.ctx, cancelled="Cancelled: nothing was changed.")
        self.propose_button = self.panel.add_button("Propose ratchet", self.propose)
        self.apply_button = self.panel.add_button("Apply…", self._ask_and_apply)
        self.panel.row.addStretch(1)
        self.panel.busy_changed.connect(self._set_busy)
        self.proposals = proposals_table()
        ratchet = QGroupBox("Ratchet")
        box = QVBoxLayout(ratchet)
        box.addWidget(self.panel)
        box.addWidget(self.proposals)

        self.steps = steps_table()
        history = QGroupBox("History of ratchet steps")
        QVBoxLayout(history).addWidget(self.steps)

        layout = QVBoxLayout(self)
        layout.addWidget(header)
        layout.addWidget(self.picker)
        layout.addWidget(current, 1)
        layout.addWidget(ratchet, 1)
        layout.addWidget(history, 2)

    def _set_busy(self, busy: bool) -> None:
        self.picker.setEnabled(not busy)
        self.propose_button.setEnabled(not busy)
        self.apply_button.setEnabled(not busy and bool(self.proposal and
                                                        self.proposal.proposals))

    # -- reading ---------------------------------------------------------------------------
    def _model_changed(self) -> None:
        """Another model: the last one's messages ("From regression run 1 of …") go."""
        if not self.panel.running:
            self.panel.say("")
        self.refresh()

    def refresh(self) -> None:
        """Read the chosen model's requirements in the background: a quick read, not a run
        (it never holds the panel), and a newer choice supersedes a read still under way."""
        self.proposal = None
        fill_proposals(self.proposals, [])
        self.ctx.run("requirements", tasks.load_requirements, self.ctx.workspace,
                     self.picker.model_id(), key=(READ_KEY, id(self)), parent=self,
                     on_finished=self._loaded, on_failed=self._load_failed)

    def _load_failed(self, exc: BaseException) -> None:
        self.panel.say(f"The requirements could not be read: "
                       f"{getattr(exc, 'message', None) or exc}", error=True)
        if not isinstance(exc, EngineError):
            errors.show_exception(self, exc)

    def _loaded(self, view: tasks.RequirementsView) -> None:
        self.view = view
        fill_requirements(self.requirements, view.requirements)
        self.baseline.setText(baseline_html(view.label, view.baseline))
        fill_steps(self.steps, view.steps)
        self.loaded.emit(view)

    # -- the ratchet -----------------------------------------------------------------------
    def propose(self) -> None:
        self.panel.run("propose ratchet", tasks.propose_ratchet, self.ctx.workspace,
                       self.picker.model_id(), then=self._proposed,
                       message="Reading the last regression run…")

    def _proposed(self, proposed: tasks.Proposed) -> None:
        self.proposal = proposed
        fill_proposals(self.proposals, proposed.proposals)
        if not proposed.passed:
            self.panel.say(
                f"<b style='color:{RED.name()}'>The last regression run of {proposed.label} "
                f"failed</b> ({'; '.join(proposed.problems)}); requirements are only raised "
                "from a passing run.")
        elif not proposed.proposals:
            self.panel.say(f"Nothing to raise: the last run of {proposed.label} (run "
                                 f"{proposed.run_id}) is within the margin of today's bounds.")
        else:
            self.panel.say(f"From regression run {proposed.run_id} of {proposed.label}. "
                                 "Apply to make these the requirements on this workstation.")
        self.proposed.emit(proposed)

    def _ask_and_apply(self) -> None:
        if self.proposal is None or not self.proposal.proposals:
            return
        what = ", ".join(f"{p.metric} {p.bound_name} {p.current:g} → {p.proposed:g}"
                         for p in self.proposal.proposals)
        why, ok = QInputDialog.getText(self, "Apply the ratchet",
                                       f"{what}\n\nWhy? (recorded with your name and the time)")
        if ok and why.strip():
            self.apply(why.strip())
        elif ok:
            self.panel.say("Nothing was changed: a reason is needed.")

    def apply(self, why: str) -> None:
        if self.proposal is None or not self.proposal.proposals:
            return
        proposal = self.proposal
        self.panel.run("apply ratchet", tasks.apply_ratchet, self.ctx.workspace, proposal.label,
                       proposal.proposals, why, then=lambda n: self._applied(proposal, n),
                       message="Recording the new requirements…", keep_message=True)

    def _applied(self, proposal: tasks.Proposed, count: int) -> None:
        log.info("ratchet: %d step(s) recorded for %s", count, proposal.label)
        self.proposal = None
        fill_proposals(self.proposals, [])
        self.panel.say(f"Recorded {count} ratchet step{'s' if count != 1 else ''} for "
                             f"{proposal.label}.")
        self.applied.emit(count)
        self.refresh()
