"""The Trial page's "History" tab: every trial (double-click: show it on the Trial tab) and
every gate run (double-click: show its verdict again, and export its report again)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QTableWidget, QVBoxLayout, QWidget

from gui.colors import GREEN, RED
from gui.tables import cell, make_table, set_row, when
from gui.tasks.trial import Overview

STATUS_COLORS = {"running": None, "accepted": GREEN, "rejected": RED, "rolled-back": RED}
TRIAL_COLUMNS = ["#", "Model", "Champion", "Challenger", "Status", "Started", "Closed", "By",
                 "Reason"]
GATE_COLUMNS = ["#", "When", "Candidate", "Champion", "Verdict", "Corpus", "Latest data", "By"]
ID_ROLE = Qt.ItemDataRole.UserRole  # the trial's or the gate run's id


def trials_table() -> QTableWidget:
    table = make_table(TRIAL_COLUMNS)
    table.setToolTip("Double-click a trial to show it on the Trial tab")
    return table


def fill_trials(table: QTableWidget, rows: list[dict]) -> None:
    table.setRowCount(len(rows))
    for r, t in enumerate(rows):
        forced = " (forced)" if t.get("forced") else ""
        cells = [cell(str(t["id"])), cell(t["model_id"]), cell(t["champion"]),
                 cell(t["challenger"]),
                 cell(t["status"] + forced, color=STATUS_COLORS.get(t["status"]),
                       bold=t["status"] != "running"),
                 cell(when(t["started_at"])),
                 cell(when(t["closed_at"]) if t.get("closed_at") else ""),
                 cell(t.get("closed_by") or t.get("started_by") or ""),
                 cell(t.get("reason") or "", t.get("reason") or "")]
        set_row(table, r, cells, ID_ROLE, t["id"])


def gates_table() -> QTableWidget:
    table = make_table(GATE_COLUMNS)
    table.setToolTip("Double-click a gate run to show its verdict again")
    return table


def fill_gates(table: QTableWidget, rows: list[dict]) -> None:
    table.setRowCount(len(rows))
    for r, g in enumerate(rows):
        ok = g["verdict"] == "accept"
        cells = [cell(str(g["id"])), cell(when(g["at"])), cell(g["candidate"]),
                 cell(g["champion"]),
                 cell(g["verdict"].upper(), color=GREEN if ok else RED, bold=True),
                 cell(Path(g["corpus"]).name, g["corpus"]),
                 cell(Path(g["latest"]).name if g.get("latest") else "", g.get("latest") or ""),
                 cell(g.get("user") or "")]
        set_row(table, r, cells, ID_ROLE, g["id"])


class HistoryTab(QWidget):
    trial_chosen = Signal(int)
    gate_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.trials = trials_table()
        self.trials.cellDoubleClicked.connect(
            lambda row, _c: self.trial_chosen.emit(self.trials.item(row, 0).data(ID_ROLE)))
        self.gates = gates_table()
        self.gates.cellDoubleClicked.connect(
            lambda row, _c: self.gate_chosen.emit(self.gates.item(row, 0).data(ID_ROLE)))
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Trials (newest first)"))
        layout.addWidget(self.trials, 1)
        layout.addWidget(QLabel("Gate runs (newest first)"))
        layout.addWidget(self.gates, 1)

    def fill(self, overview: Overview) -> None:
        fill_trials(self.trials, overview.trials)
        fill_gates(self.gates, overview.gates)
