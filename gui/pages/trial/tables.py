"""The Trial page's tables and chart data for one trial: the shadow observations, champion and
challenger side by side, the comparison over time, and the requirement steps an acceptance
took."""

from __future__ import annotations

import html
import math
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTableWidget

from engine.metrics import GREATER_IS_BETTER
from engine.trial.status import Observation, TrialStatus
from gui.colors import GREEN, RED
from gui.tables import cell, make_table, when
from gui.tasks.trial import Shown

AGREEMENT = "agreement"
GAP = "mean |Δp|"  # classifiers: how far apart the two probabilities are
GAP_VALUES = "mean |Δ|"  # regression: how far apart the two predicted values are
KINDS = {"batch": "prediction batch", "nowtest": "now-test"}
ID_ROLE = Qt.ItemDataRole.UserRole  # the observation's id


def num(value, digits: int = 4) -> str:
    if value is None or not isinstance(value, int | float) or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}f}"


def percent(value) -> str:
    return "–" if value is None else f"{value:.1%}"


def better(metric: str, champion, challenger) -> bool | None:
    """Whether the challenger's value is the better one (None: cannot tell)."""
    if None in (champion, challenger) or metric not in GREATER_IS_BETTER:
        return None
    if challenger == champion:
        return None
    return (challenger > champion) == GREATER_IS_BETTER[metric]


def metric_names(status: TrialStatus, primary: str) -> list[str]:
    names = list(status.side_by_side.get("metrics", {}))
    return sorted(names, key=lambda m: m != primary)


def _comparison(o: Observation) -> dict:
    return o.comparison or {}


def _metric(o: Observation, side: str, metric: str):
    metrics = _comparison(o).get("metrics") or {}
    return (metrics.get(side) or {}).get(metric)


def category(o: Observation) -> str:
    text = when(o.at)
    return f"#{o.id} {text[5:16]}" if text.endswith("UTC") else f"#{o.id}"


# -- the comparison over time ------------------------------------------------------------------
def chart_choices(shown: Shown) -> list[str]:
    """What the chart can show: each metric measured on labelled observations (the primary
    first), then how alike the two are on every successful observation (for a classifier the
    agreement and the probability gap, for a regression the gap between the values)."""
    regression = any(_comparison(o).get("mean_abs_diff") is not None
                     for o in shown.status.observations)
    return [*metric_names(shown.status, shown.metric),
            *([GAP_VALUES] if regression else [AGREEMENT, GAP])]


def default_choice(shown: Shown, choices: list[str]) -> str:
    """The primary metric once an observation had the true outcome, else how alike they are."""
    if shown.status.side_by_side.get("labelled") and shown.metric in choices:
        return shown.metric
    return next(c for c in choices if c in (AGREEMENT, GAP_VALUES))


def chart_data(shown: Shown, choice: str) -> tuple[list[str], dict, list, str]:
    """(categories, series, requirement lines, y label), oldest observation on the left."""
    status = shown.status
    obs = [o for o in status.observations if o.error is None and o.comparison]
    cats = [category(o) for o in obs]
    if choice == AGREEMENT:
        return cats, {"agreement (same predicted label)": [_comparison(o).get("agreement")
                                                            for o in obs]}, [], "share"
    if choice in (GAP, GAP_VALUES):
        key = "mean_abs_diff" if choice == GAP_VALUES else "mean_abs_proba_diff"
        return cats, {f"{choice} between the two": [_comparison(o).get(key) for o in obs]}, \
            [], choice
    series = {f"{status.champion} (champion)": [_metric(o, "champion", choice) for o in obs],
              f"{status.challenger} (challenger)": [_metric(o, "challenger", choice)
                                                    for o in obs]}
    reqs = [r for r in shown.requirements if r["metric"] == choice]
    per_batch = [r for r in reqs if r["applies"] == "partition"] or reqs
    lines = [(f"{r['bound_name']} {r['bound']:g} per batch", r["bound"]) for r in per_batch]
    return cats, series, lines, choice


# -- the observations ----------------------------------------------------------------------------
def observation_columns(shown: Shown) -> list[str]:
    m = shown.metric or "metric"
    return ["#", "Kind", "When", "File", "Rows", "Agreement", GAP, "Labelled",
            f"{m}: champion", f"{m}: challenger", "Alarms", "Problem"]


def observations_table() -> QTableWidget:
    return _compact(make_table(["#", "Kind", "When", "File", "Rows", "Agreement", GAP, "Labelled",
                            "Champion", "Challenger", "Alarms", "Problem"]))


def _metrics_tooltip(o: Observation) -> str:
    metrics = _comparison(o).get("metrics") or {}
    champion, challenger = metrics.get("champion") or {}, metrics.get("challenger") or {}
    return "\n".join(f"{m}: {num(champion.get(m))} → {num(challenger.get(m))}"
                     for m in champion)


def _alarms(o: Observation) -> str:
    c = _comparison(o)
    if o.kind != "nowtest" or o.error is not None:
        return ""
    return (f"champion {'yes' if c.get('champion_alarms') else 'no'}, challenger "
            f"{'yes' if c.get('challenger_alarms') else 'no'}")


def fill_observations(table: QTableWidget, shown: Shown) -> None:
    """Newest first; a failed shadow run in red with its reason."""
    columns = observation_columns(shown)
    table.setHorizontalHeaderLabels(columns)
    rows = list(reversed(shown.status.observations))
    table.setRowCount(len(rows))
    for r, o in enumerate(rows):
        c = _comparison(o)
        champ, chall = _metric(o, "champion", shown.metric), _metric(o, "challenger",
                                                                     shown.metric)
        won = better(shown.metric, champ, chall)
        gap = c.get("mean_abs_proba_diff")
        gap = c.get("mean_abs_diff") if gap is None else gap
        tip = _metrics_tooltip(o)
        alarms = "\n".join([*(f"champion: {a}" for a in c.get("champion_alarms") or []),
                            *(f"challenger: {a}" for a in c.get("challenger_alarms") or [])])
        cells = [cell(str(o.id)), cell(KINDS.get(o.kind, o.kind)), cell(when(o.at)),
                 cell(Path(o.input).name, o.input + (f"\nchallenger's output: {o.output}"
                                                      if o.output else "")),
                 cell("–" if o.rows is None else f"{o.rows:,}"),
                 cell(percent(c.get("agreement"))), cell(num(gap)),
                 cell(f"{c.get('labelled', 0):,}" if o.error is None else "–"),
                 cell(num(champ), tip), cell(num(chall), tip, GREEN if won else
                                               RED if won is False else None, bold=won is True),
                 cell(_alarms(o), alarms),
                 cell(o.error or "", o.error or "", RED if o.error else None)]
        for column, item in enumerate(cells):
            item.setData(ID_ROLE, o.id)
            if 4 <= column <= 9:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, column, item)
    if columns:
        table.resizeColumnsToContents()


# -- side by side --------------------------------------------------------------------------------
def side_summary(status: TrialStatus) -> str:
    s = status.side_by_side
    n, failed = s.get("observations", 0), s.get("failed", 0)
    first = (f"<b>{n}</b> shadow observation{'' if n == 1 else 's'}"
             + (f" (<span style='color:{RED.name()}'>{failed} more failed, not counted</span>)"
                if failed else "") + f": {s.get('scored_both', 0):,} rows scored by both")
    second = f"Same predicted label on <b>{percent(s.get('agreement'))}</b> of them"
    if s.get("mean_abs_proba_diff") is not None:
        second += f", mean |Δp| {num(s['mean_abs_proba_diff'], 3)}"
    third = f"Metrics on the {s.get('labelled', 0):,} rows with the true outcome:"
    return "<br>".join([first, second, third])


def _compact(table: QTableWidget) -> QTableWidget:
    table.setWordWrap(False)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
    return table


def side_table() -> QTableWidget:
    table = _compact(make_table(["", "Champion", "Challenger", "Difference"]))
    header = table.horizontalHeader()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # the names give way
    return table


def fill_side(table: QTableWidget, shown: Shown) -> None:
    """Each metric over the labelled observations (the primary first, in bold), the alarms
    the now-tested files raised, and the gate's back-test for reference."""
    status = shown.status
    s = status.side_by_side
    table.horizontalHeaderItem(1).setToolTip(status.champion)
    table.horizontalHeaderItem(2).setToolTip(status.challenger)
    rows = []
    for m in metric_names(status, shown.metric):
        pair = s["metrics"][m]
        a, b = pair.get("champion"), pair.get("challenger")
        diff = None if None in (a, b) else b - a
        won = better(m, a, b)
        rows.append((m, num(a), num(b), "–" if diff is None else f"{diff:+.4f}",
                     GREEN if won else RED if won is False else None, m == shown.metric))
    alarms = s.get("alarms", {})
    if alarms.get("nowtests"):
        n = alarms["nowtests"]
        rows.append(("now-tests with an alarm", f"{alarms['champion']} of {n}",
                     f"{alarms['challenger']} of {n}", "", None, False))
    gate = (s.get("gate") or {}).get("comparison")
    if gate:
        rows.append((f"{gate['metric']} in the gate", num(gate.get("champion_value")),
                     num(gate.get("challenger_value")),
                     f"{gate['difference']:+.4f}" if gate.get("difference") is not None
                     else "–", GREEN if gate.get("outcome") == "better" else None, False))
    table.setRowCount(len(rows))
    for r, (name, a, b, diff, color, bold) in enumerate(rows):
        cells = [cell(name, bold=bold), cell(a, bold=bold), cell(b, color=color, bold=bold),
                 cell(diff, "challenger minus champion", color)]
        for column, item in enumerate(cells):
            if column:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, column, item)


# -- after the decision --------------------------------------------------------------------------
def steps_html(status: TrialStatus, measured: dict | None = None) -> str:
    """The requirement steps this trial's acceptance took, and how to undo it."""
    if not status.steps:
        return ""
    scope = {"overall": "overall", "partition": "per partition"}
    items = []
    for s in status.steps:
        where = (measured or {}).get(f"{s['metric']} ({s['applies']})")
        seen = f"; measured {num(where[0])} in {html.escape(str(where[1]))}" if where else ""
        undo = " (undone by a rollback)" if s.get("override") else ""
        items.append(f"<li>{html.escape(s['metric'])} {s['bound_name']} {s['old']:g} → "
                     f"<b>{s['new']:g}</b> {scope.get(s['applies'], s['applies'])}{seen}"
                     f"{undo}</li>")
    return f"Requirement steps recorded:<ul style='margin-top:2px'>{''.join(items)}</ul>"
