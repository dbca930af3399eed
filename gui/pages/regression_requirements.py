"""The Requirements page's tables: the effective requirements, a ratchet proposal, and the
history of ratchet steps."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QTableWidget

from gui.colors import GREEN, RED
from gui.tables import cell, make_table, set_row, when

REQUIREMENT_COLUMNS = ["Metric", "Requirement", "Expected mean", "Acceptable range", "Applies"]
PROPOSAL_COLUMNS = ["Metric", "Today", "Proposed", "Measured on the reference sample"]
STEP_COLUMNS = ["When", "Metric", "From", "To", "Why", "By", "Override"]


def _num(value) -> str:
    return "" if value is None else f"{value:g}"


def requirements_table() -> QTableWidget:
    return make_table(REQUIREMENT_COLUMNS)


def fill_requirements(table: QTableWidget, reqs: list) -> None:
    table.setRowCount(len(reqs))
    for r, req in enumerate(reqs):
        cells = [
            cell(req.metric, bold=True),
            cell(f"{req.bound_name} {req.bound:g}",
                  "at least" if req.higher_is_better else "at most", bold=True),
            cell(_num(req.mean)),
            cell("" if req.range is None else f"{req.range[0]:g} to {req.range[1]:g}"),
            cell("overall" if req.applies == "overall" else "in each back-test partition"),
        ]
        set_row(table, r, cells)


def baseline_html(label: str, baseline: dict) -> str:
    if not baseline:
        return f"The requirements of {html.escape(label)} name no baseline."
    values = ", ".join(f"{html.escape(str(k))} {v:g}" if isinstance(v, int | float)
                       else f"{html.escape(str(k))} {html.escape(str(v))}"
                       for k, v in (baseline.get("values") or {}).items())
    where = baseline.get("measured_on")
    return (f"<b>Baseline:</b> {html.escape(str(baseline.get('model', 'unknown model')))}"
            + (f", measured on {html.escape(str(where))}" if where else "")
            + (f": {values}." if values else "."))


def proposals_table() -> QTableWidget:
    return make_table(PROPOSAL_COLUMNS)


def fill_proposals(table: QTableWidget, proposals: list) -> None:
    table.setRowCount(len(proposals))
    for r, p in enumerate(proposals):
        cells = [
            cell(p.metric, bold=True),
            cell(f"{p.bound_name} {p.current:g}"),
            cell(f"{p.bound_name} {p.proposed:g}", color=GREEN, bold=True),
            cell(f"{p.measured:.6g}"),
        ]
        set_row(table, r, cells)


def steps_table() -> QTableWidget:
    return make_table(STEP_COLUMNS)


def fill_steps(table: QTableWidget, steps: list[dict]) -> None:
    """Newest first."""
    rows = list(reversed(steps))
    table.setRowCount(len(rows))
    for r, s in enumerate(rows):
        override = bool(s.get("override"))
        cells = [
            cell(when(s["at"])),
            cell(s["metric"]),
            cell(f"{s.get('bound_name', '')} {s['old']:g}".strip()),
            cell(f"{s.get('bound_name', '')} {s['new']:g}".strip(), bold=True),
            cell(s["why"], s["why"]),
            cell(s["user"]),
            cell("yes (lowered)" if override else "", color=RED if override else None),
        ]
        set_row(table, r, cells)
