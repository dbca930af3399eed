"""The Trial page: a candidate model's promotion gate (verdict, every check, the back-test
against the champion, the HTML report), its shadow trial beside the champion (progress, the
comparison over time, every observation) with Accept and Reject, and the history of trials
and gate runs.

Everything is the engine's (engine.trial) and runs as jobs (gui.tasks.trial); the gate and the
start run in the gate tab's run panel, and this widget shows what they report. Cancel (or
Escape) stops a gate between steps, and a cancelled
gate records nothing. Accepting and rejecting are confirmed first; an acceptance the engine
refuses (the trial is not due, or the challenger missed a requirement in shadow) is offered
again as "accept anyway", stated as an override that is recorded.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from gui import dialogs, errors
from gui.context import AppContext
from gui.pages.trial.gate_tab import GateTab
from gui.pages.trial.history import HistoryTab
from gui.pages.trial.view import TrialView, ask_reason
from gui.tasks import trial as tasks
from gui.widgets import page_header

log = logging.getLogger(__name__)

AUTO_REFRESH_MS = 60_000  # a running trial gains observations from other pages and processes


class TrialPage(QWidget):
    loaded = Signal(object)  # tasks.Overview
    gate_finished = Signal(object)  # tasks.GateOutcome
    trial_shown = Signal(object)  # tasks.Shown
    decided = Signal(object)  # tasks.Shown, after an accept or reject
    models_changed = Signal()  # installed (start), activated (accept): the Models page reloads

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.overview: tasks.Overview | None = None
        self._busy = False  # a gate, start, accept or reject is in progress
        self._first_load = True
        self._measured: dict[int, dict] = {}  # trial id -> what its acceptance measured
        self._pinned: int | None = None  # a trial chosen from the history stays in view
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(AUTO_REFRESH_MS)
        self._timer.timeout.connect(self._auto_refresh)

    def _build(self) -> None:
        header, _ = page_header(
            "Trial", "A candidate replaces the champion only after the promotion gate (its "
            "regression suite, the back-test against the champion, the now-test on the latest "
            "data) and a trial in shadow beside it; then the requirements ratchet up.")
        self.gate = GateTab(self.ctx)
        self.gate.run_requested.connect(self.run_gate)
        self.gate.forward.lower_requested.connect(self.lower_bound)
        self.gate.forward.accept_requested.connect(self.accept_anyway)
        self.gate.start_requested.connect(self.start_trial)
        self.gate.panel.busy_changed.connect(self._set_busy)
        self.view = TrialView()
        self.view.accept_requested.connect(self.accept)
        self.view.reject_requested.connect(self.reject)
        self.view.refresh_requested.connect(self.refresh)
        self.history = HistoryTab()
        self.history.trial_chosen.connect(lambda trial_id: self.show_trial_id(trial_id, True))
        self.history.gate_chosen.connect(self.show_gate_id)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.gate, "Promotion gate")
        self.tabs.addTab(self.view, "Trial")
        self.tabs.addTab(self.history, "History")
        layout = QVBoxLayout(self)
        layout.addWidget(header)
        layout.addWidget(self.tabs, 1)

    # -- state -----------------------------------------------------------------------------
    def _running_trial_of(self, label: str | None) -> str | None:
        running = self.overview.running if self.overview else None
        if running is None or label is None:
            return None
        same = running.status.model_id == label.partition("@")[0]
        return running.status.challenger if same else None

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.gate.set_busy(busy)
        self.view.set_busy(busy)
        self._update_start()

    def _update_start(self) -> None:
        self.gate.update_start(self._busy, self._running_trial_of(
            self.gate.accepted_label()))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()
        self._timer.start()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self._timer.stop()

    def _auto_refresh(self) -> None:
        if self.view.shown is not None and self.view.shown.running and not self._busy:
            self.refresh()

    # -- reading ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the trials, the gate runs and the installed candidates again (a newer read
        supersedes an older one)."""
        self.ctx.run("trial overview", tasks.overview, self.ctx.workspace,
                     key="trial overview", on_finished=self._loaded, parent=self)

    def _loaded(self, overview: tasks.Overview) -> None:
        self.overview = overview
        self.gate.form.set_candidates(overview.candidates)
        self.history.fill(overview)
        shown = self.view.shown
        running = overview.running
        pinned = shown is not None and shown.status.id == self._pinned
        if running is not None and (shown is None or not pinned
                                    or shown.status.id == running.status.id):
            self._show(running)
        elif shown is not None and shown.running:  # closed meanwhile (elsewhere): show how
            self.show_trial_id(shown.status.id)
        if self._first_load and running is not None:
            self.tabs.setCurrentWidget(self.view)
        self._first_load = False
        self._update_start()
        self.loaded.emit(overview)

    def _show(self, shown: tasks.Shown) -> None:
        self.view.show_trial(shown, self._measured.get(shown.status.id))
        self.trial_shown.emit(shown)

    def show_trial_id(self, trial_id: int, pin: bool = False) -> None:
        """Show a trial by its number (``pin``: keep it in view over the running one)."""
        if pin:
            self._pinned = int(trial_id)
        self.ctx.run("trial", tasks.trial, self.ctx.workspace, int(trial_id),
                     on_finished=lambda shown: (self._show(shown),
                                                self.tabs.setCurrentWidget(self.view)),
                     parent=self)

    def show_gate_id(self, gate_id: int) -> None:
        self.ctx.run("past gate", tasks.past_gate, self.ctx.workspace, int(gate_id),
                     on_finished=self._past_gate, parent=self)

    def _past_gate(self, result) -> None:
        if self._busy:
            return
        self.gate.show_result(result, accepted_setup=None, note="Shown from the history.",
                              live=False)
        self.tabs.setCurrentWidget(self.gate)
        self._update_start()

    # -- the gate and the start ------------------------------------------------------------
    def run_gate(self) -> None:
        setup = self.gate.form.setup()
        if self._busy or setup is None:
            return
        self.gate.panel.run("gate", tasks.gate, self.ctx.workspace, setup,
                            then=lambda o: self._gated(o, setup),
                            message=f"Gating {self.gate.candidate_name()}…")

    def start_trial(self) -> None:
        setup = self.gate.form.setup()
        label = self.gate.accepted_label()
        if self._busy or setup is None or label is None:
            return
        batches, days = self.gate.targets()
        length = " and ".join(([f"{batches} batches"] if batches else [])
                              + ([f"{days:g} days"] if days else [])) or "5 batches"
        gated = self.gate.verdict.result
        champion = gated.champion
        if not dialogs.confirm(
                self, "Start the trial?",
                f"Start a trial of {label} beside {champion} for {length}?\n\n{label} is "
                f"installed without being activated, on the strength of the gate run shown "
                f"(gate {gated.id}); it is refused if the bundle, the champion or the "
                f"requirements changed since. Every prediction batch and now-test of "
                f"{champion} is then repeated with {label} in shadow: its outputs go to the "
                "trial's folder only, never to the operator's files. Nothing changes for the "
                "operator until you accept it."):
            return
        self.gate.panel.run("trial start", tasks.start, self.ctx.workspace, setup, batches,
                            days, gated.id, then=lambda o: self._gated(o, setup, start=True),
                            message=f"Starting the trial of {label}…")

    def lower_bound(self, metric: str, value: float, why: str) -> None:
        """The champion misses the bound too: lower it (an override step with the reason),
        then gate again with the same choices."""
        result, setup = self.gate.verdict.result, self.gate.form.setup()
        if self._busy or result is None or setup is None:
            return
        self.gate.panel.run("gate", tasks.lower_and_gate, self.ctx.workspace, result, metric,
                            value, why, setup, then=lambda o: self._gated(
                                o, setup, note=f"{metric} lowered to {value:g} (an override "
                                f"step, recorded with your reason); the gate ran again."),
                            message=f"Lowering {metric} to {value:g} and gating again…")

    def accept_anyway(self, why: str) -> None:
        """Accept the rejected candidate anyway, recorded; then its trial can start."""
        result, setup = self.gate.verdict.result, self.gate.form.setup()
        if self._busy or result is None or result.id is None or setup is None:
            return
        self.gate.panel.run("gate accept anyway", tasks.accept_anyway, self.ctx.workspace,
                            result.id, why, then=lambda o: self._gated(o, setup),
                            message=f"Recording the acceptance of {result.candidate}…",
                            busy=True)

    def cancel(self) -> None:
        self.gate.panel.cancel()

    def _gated(self, outcome: tasks.GateOutcome, setup: tasks.GateSetup,
               start: bool = False, note: str = "") -> None:
        result = outcome.gate
        log.info("gate %s of %s against %s: %s", result.id, result.candidate, result.champion,
                 result.verdict)
        if note:
            pass  # the caller's words (a bound lowered before this run)
        elif outcome.trial is not None:
            note = f"Trial {outcome.trial.status.id} started."
        elif start:
            note = "The gate rejected it, so no trial started and nothing was installed."
        elif outcome.gate.accepted:
            note = "Start the trial to try it in shadow beside the champion."
        self.gate.show_result(result, accepted_setup=setup if result.accepted else None,
                              note=note)
        self._set_busy(False)
        if outcome.trial is not None:
            self._pinned = None
            self._show(outcome.trial)
            self.tabs.setCurrentWidget(self.view)
        self._loaded(outcome.overview)
        if outcome.trial is not None:
            self.models_changed.emit()  # the challenger is installed (inactive)
        self.gate_finished.emit(outcome)

    # -- accept and reject -----------------------------------------------------------------
    def accept(self) -> None:
        """Confirmed first; the engine may refuse (then "accept anyway" is offered)."""
        shown = self.view.shown
        if self._busy or shown is None or not shown.running:
            return
        s = shown.status
        if not dialogs.confirm(
                self, "Accept the challenger?",
                f"Accept {s.challenger} in place of {s.champion}?\n\nIt becomes the active "
                f"version for every prediction from now on, and the requirements of "
                f"{s.model_id} ratchet up from what it measured. Both are recorded; rolling "
                "back stays one action on the Models page." + (
                    "" if s.due else f"\n\nThe trial has not run its declared length yet "
                    f"({s.progress}): accepting now overrides it, and the override is "
                    "recorded.")):
            return
        self._decide("trial accept", tasks.accept, s.model_id, False)

    def _accepted(self, done: tasks.Accepted) -> None:
        outcome = done.outcome
        if not outcome.accepted:
            self._set_busy(False)
            s = done.shown.status
            self._show(done.shown)
            refusals = "\n".join(f"• {r}" for r in outcome.refusals)
            if dialogs.confirm(
                    self, "Accept anyway?",
                    f"{s.challenger} was not accepted:\n{refusals}\n\nAccept it anyway? This "
                    "overrides the trial's rule; the override and what it overrode are "
                    "recorded with the acceptance."):
                self._decide("trial accept (forced)", tasks.accept, s.model_id, True)
            else:
                self.view.decision.setText("Not accepted; nothing was changed. "
                                           + "; ".join(outcome.refusals))
                self.view.decision.setVisible(True)
            return
        self._measured[done.shown.status.id] = outcome.measured
        self._decided(done.shown, done.overview)

    def reject(self) -> None:
        shown = self.view.shown
        if self._busy or shown is None or not shown.running:
            return
        reason = ask_reason(self, shown.status.challenger)
        if reason is None:
            return
        self._decide("trial reject", tasks.reject, shown.status.model_id, reason)

    def _decide(self, name: str, fn, *args) -> None:
        self._set_busy(True)
        on_finished = self._accepted if fn is tasks.accept else (
            lambda pair: self._decided(*pair))
        self.ctx.run(name, fn, self.ctx.workspace, *args, on_finished=on_finished,
                     on_failed=self._decision_failed)

    def _decided(self, shown: tasks.Shown, overview: tasks.Overview) -> None:
        self._set_busy(False)
        self._show(shown)
        self._loaded(overview)
        self.decided.emit(shown)
        self.models_changed.emit()

    def _decision_failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        errors.show_exception(self, exc)
        self.refresh()
