"""The way forward the Trial page offers under a gate verdict that rejected a candidate on a
bound the champion misses too (engine.trial.gate_checks.champion_misses): lower the bound with
a reason (an override step of the requirements, then the gate runs again), or accept the
candidate anyway with a reason (a gate run of its own). Both are recorded; the widget only
says so and asks."""

from __future__ import annotations

import math

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.trial.gate_override import overridable
from engine.trial.gate_result import GateResult
from gui.colors import AMBER


def _bound_text(miss: dict) -> str:
    return f"{miss['metric']} {miss['bound_name']} {miss['bound']:g}"


def suggested(miss: dict) -> float:
    """The bound the candidate meets in every partition (4 decimals, on the safe side)."""
    reached = miss.get("candidate_reaches")
    if reached is None or not math.isfinite(reached):
        return float(miss["bound"])
    scale = 10_000
    return (math.floor(reached * scale) if miss["bound_name"] == "min"
            else math.ceil(reached * scale)) / scale


def ask_text(parent: QWidget, title: str, label: str) -> str | None:
    """A required reason (None: the operator gave up)."""
    while True:
        text, ok = QInputDialog.getMultiLineText(parent, title, label)
        if not ok:
            return None
        if text.strip():
            return text.strip()
        label = "A reason is required; it is recorded.\n\n" + label


class GateForward(QWidget):
    """Hidden unless the shown verdict can be taken forward."""

    lower_requested = Signal(str, float, str)  # metric, new bound, reason
    accept_requested = Signal(str)  # reason

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.result: GateResult | None = None
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setStyleSheet(f"color: {AMBER.name()};")
        self.lower_button = QPushButton("Lower the bound…")
        self.lower_button.setToolTip("Record an override step of the requirements with your "
                                     "reason (as `ratchet requirements set ... --override`), "
                                     "then run the gate again")
        self.accept_button = QPushButton("Accept anyway…")
        self.accept_button.setToolTip("Record the acceptance over this rejection with your "
                                      "reason, as a gate run of its own; then start the trial")
        self.lower_button.clicked.connect(self._lower)
        self.accept_button.clicked.connect(self._accept)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.lower_button)
        row.addWidget(self.accept_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.text)
        layout.addLayout(row)
        self.show_result(None)

    def show_result(self, result: GateResult | None) -> None:
        """Shown for a rejecting run stored in the history that may be taken forward."""
        offer = (result is not None and result.id is not None and not result.accepted
                 and not overridable(result))
        self.result = result if offer else None
        self.setVisible(offer)
        if not offer:
            self.text.setText("")
            return
        bounds = "; ".join(_bound_text(m) for m in result.champion_misses)
        self.text.setText(
            f"The champion {result.champion} misses {bounds} too, so this bound keeps the "
            f"worse model. Two ways forward, each recorded with your reason: lower the bound "
            f"(then the gate runs again), or accept {result.candidate} anyway (then start its "
            "trial).")

    def set_enabled(self, enabled: bool) -> None:
        self.lower_button.setEnabled(enabled)
        self.accept_button.setEnabled(enabled)

    def _lower(self) -> None:
        result = self.result
        if result is None:
            return
        miss = result.champion_misses[0]
        if len(result.champion_misses) > 1:
            names = [m["metric"] for m in result.champion_misses]
            name, ok = QInputDialog.getItem(self, "Lower the bound", "Which bound?", names, 0,
                                            False)
            if not ok:
                return
            miss = result.champion_misses[names.index(name)]
        low, high = (0.0, float(miss["bound"])) if miss["bound_name"] == "min" else \
            (float(miss["bound"]), 1e12)
        value, ok = QInputDialog.getDouble(
            self, "Lower the bound",
            f"New {miss['metric']} {miss['bound_name']} (now {miss['bound']:g}; "
            f"{result.candidate} reaches {suggested(miss):g} in every partition):",
            suggested(miss), low, high, 4)
        if not ok:
            return
        why = ask_text(self, "Lower the bound",
                       f"Why lower {_bound_text(miss)} to {value:g}? The reason is recorded "
                       "with the override step.")
        if why is not None:
            self.lower_requested.emit(miss["metric"], float(value), why)

    def _accept(self) -> None:
        result = self.result
        if result is None:
            return
        why = ask_text(self, "Accept anyway",
                       f"Why accept {result.candidate} although gate run {result.id} rejected "
                       "it? The acceptance is recorded with your reason as a gate run of its "
                       "own; the rejection stays in the history.")
        if why is not None:
            self.accept_requested.emit(why)
