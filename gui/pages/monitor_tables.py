"""The Monitor page's tables: the alarms, the now-tests, and the drift of one now-test per
feature. Pure filling code: the page loads the data in a job and hands it here."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QTableWidget

from engine.alarms.email import number as distinct
from engine.nowtest.reasons import MULTIVARIATE
from gui.colors import GREEN, GREY, RED, RED_TINT
from gui.tables import cell, make_table, set_row, when

DRIFTED_BACKGROUND = RED_TINT
ALARM_COLUMNS = ["State", "Model", "What", "Value", "Bound", "Times", "First seen",
                 "Last seen", "E-mailed", "Message"]
NOWTEST_COLUMNS = ["When", "File", "Alarm", "Measured", "Estimated", "Drifted", "Rows",
                   "Labelled", "Model", "From"]
DRIFT_COLUMNS = ["Feature", "Drifted", "Test", "Statistic", "Threshold", "p-value",
                 "Outside range"]
KIND_WORDS = {"metric": "below its minimum", "estimate": "estimate below its minimum",
              "drift": "drifted", "out_of_range": "out of range",
              "prediction_drift": "predictions drifted", "quality": "failed"}
SOURCES = {"app": "watch folder / app", "cli": "command line", "watch": "ratchet watch"}


def number(value, digits: int = 4) -> str:
    if value is None:
        return "–"
    try:
        return f"{float(value):.{digits}g}"
    except (TypeError, ValueError):
        return str(value)


def _one_line(table: QTableWidget) -> QTableWidget:
    """Rows one line high (long text elided; the whole of it in the tooltip)."""
    table.setWordWrap(False)
    table.setTextElideMode(Qt.TextElideMode.ElideRight)
    return table


def alarms_table() -> QTableWidget:
    table = _one_line(make_table(ALARM_COLUMNS))
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    return table


def _value_text(kind: str, value, other) -> str:
    """A share (out of range) as a percentage; anything else never printed like its bound."""
    if kind == "out_of_range" and value is not None:
        return f"{value:.1%}"

    return distinct(value, other)


def drift_words(message: str, value, bound) -> tuple[str, str] | None:
    """A drift alarm's Value and Bound in words (engine.nowtest.reasons says which number it
    recorded: a test's p-value, a distance, or the share of missing values), e.g.
    ("p = 5e-23", "alarm below p 0.00016"); None when the message says none of them."""
    if value is None or bound is None:
        return None
    if "reconstruction error" in message:  # the inputs together (multivariate)
        return f"error {value:.3g}", f"alarm above {bound:.3g}"
    if "test p = " in message:
        return f"p = {value:.2g}", f"alarm below p {bound:.2g}"
    if ", above the threshold " in message:
        return f"distance {value:.3g}", f"alarm above {bound:.3g}"
    if "missing values in " in message:
        return f"{value:.1%} missing", f"{bound:.1%} in the reference"
    return None


def _emailed(alarm) -> tuple[str, str, QColor | None]:
    if alarm.email_error:
        return "failed", alarm.email_error, RED
    if alarm.emailed_at:
        return when(alarm.emailed_at), "", None
    return "no", "No e-mail was sent (none configured in Settings, or not yet).", GREY


def fill_alarms(table: QTableWidget, alarms: list) -> None:
    """Open alarms first (in red), then acknowledged ones; each row keeps its alarm id."""
    table.setRowCount(len(alarms))
    for r, a in enumerate(alarms):
        is_open = a.acknowledged_at is None
        state = "OPEN" if is_open else f"acknowledged by {a.acknowledged_by or '?'} " \
                                       f"{when(a.acknowledged_at)}"
        what = "predictions drifted" if a.kind == "prediction_drift" else \
            f"{a.subject} {KIND_WORDS.get(a.kind, a.kind)}"
        sentence = a.message.removeprefix(f"{a.model}: ")  # the Model column says it
        emailed, emailed_tip, emailed_color = _emailed(a)
        cells = [
            cell(state, color=RED if is_open else GREY, bold=is_open),
            cell(a.model),
            cell(what, a.message),
            *_value_cells(a),
            cell(str(a.occurrences),
                  f"Seen in {a.occurrences} now-test(s), from #{a.first_nowtest} to "
                  f"#{a.last_nowtest}"),
            cell(when(a.first_at)),
            cell(when(a.last_at)),
            cell(emailed, emailed_tip, emailed_color),
            cell(sentence, a.message),
        ]
        cells[0].setData(Qt.ItemDataRole.UserRole, a.id)
        set_row(table, r, cells)


def _value_cells(a) -> list:
    words = drift_words(a.message, a.value, a.bound) \
        if a.kind in ("drift", "prediction_drift") else None
    if words is not None:
        return [cell(words[0], a.message), cell(words[1], a.message)]
    if a.kind == "quality":  # a share of the rows; min_rows: the rows themselves
        def text(v):
            if v is None:
                return "–"
            return f"{v:,.0f} rows" if a.subject == "min_rows" else f"{v:.1%}"
        return [cell(text(a.value), a.message), cell(text(a.bound), a.message)]
    return [cell(_value_text(a.kind, a.value, a.bound)), cell(_value_text(a.kind, a.bound,
                                                                          a.value))]


def alarm_summary(data) -> str:
    """The line above the alarms (``data``: a tasks.monitor.MonitorData): how many are
    open, all of them, also beyond those listed."""
    listed_open = sum(a.acknowledged_at is None for a in data.alarms)
    if not data.open_alarms:
        closed = len(data.alarms) - listed_open
        return "No open alarms." + (f" ({closed} acknowledged shown)" if closed else "")
    text = f"<b style='color:{RED.name()}'>{data.open_alarms} open alarm" \
           f"{'' if data.open_alarms == 1 else 's'}</b>"
    if listed_open < data.open_alarms:
        text += f" (the latest {listed_open} listed)"
    return text


def selected_ids(table: QTableWidget) -> list[int]:
    rows = sorted({i.row() for i in table.selectedIndexes()})
    return [table.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in rows]


def primary(result: dict, fallback: dict | None = None) -> tuple[str | None, float | None,
                                                               str]:
    """The metric a now-test is judged by, its bound and the bound's name ("min" / "max"):
    the result's first checked requirement, else ``fallback`` (the model's requirement, for
    a file without labels), else the first estimated metric without a bound."""
    for req in [*(result.get("requirements") or []), fallback or {}]:
        if req.get("metric"):
            return req["metric"], req.get("bound"), req.get("bound_name") or "min"
    metrics = result.get("metrics") or result.get("estimate") or {}
    return next(iter(metrics), None), None, "min"


def nowtests_table() -> QTableWidget:
    return _one_line(make_table(NOWTEST_COLUMNS))


def fill_nowtests(table: QTableWidget, nowtests: list[dict],
                  requirements: dict[str, dict] | None = None) -> None:
    """Newest first, as given; each row keeps its now-test id. ``requirements``: the model
    version's requirement ("ID@V" -> metric, bound, bound_name) for files without labels."""
    table.setRowCount(len(nowtests))
    for r, t in enumerate(nowtests):
        result = t.get("result") or {}
        metric, bound, bound_name = primary(result, (requirements or {}).get(t.get("model")))
        measured = (result.get("metrics") or {}).get(metric) if metric else None
        estimated = (result.get("estimate") or {}).get(metric) if metric else None
        drift = result.get("drift") or []
        drifted = sum(bool(d.get("drifted")) for d in drift)
        low = measured is not None and bound is not None and (
            measured < bound if bound_name == "min" else measured > bound)
        cells = [
            cell(when(t.get("at", ""))),
            cell(Path(t.get("input", "")).name, t.get("input", "")),
            cell("ALARM" if t.get("alarm") else "ok", color=RED if t.get("alarm") else GREEN,
                  bold=bool(t.get("alarm"))),
            cell(f"{metric} {number(measured)}" if measured is not None else "no labels",
                  f"{bound_name} {number(bound)}" if bound is not None else "",
                  RED if low else None, bold=low),
            cell(f"{metric} ≈{number(estimated)}" if estimated is not None else "–"),
            cell(f"{drifted} of {len(drift)}", color=RED if drifted else None),
            cell(f"{t.get('rows', 0):,}"),
            cell(f"{t.get('labelled', 0):,}"),
            cell(t.get("model", "")),
            cell(SOURCES.get(t.get("source", ""), t.get("source", ""))),
        ]
        cells[0].setData(Qt.ItemDataRole.UserRole, t.get("id"))
        set_row(table, r, cells)


def multivariate_row(mv: dict | None) -> dict | None:
    """The multivariate drift (engine.nowtest.multivariate) as a row of the drift table."""
    if not mv:
        return None
    return {"feature": MULTIVARIATE, "drifted": bool(mv.get("drifted")),
            "test": "PCA reconstruction", "statistic": mv.get("error"),
            "threshold": mv.get("threshold"), "p_value": None}


def drift_table() -> QTableWidget:
    return _one_line(make_table(DRIFT_COLUMNS))


def fill_drift(table: QTableWidget, result: dict | None) -> None:
    """One row per input feature, drifted ones first and highlighted; then the predictions;
    and the inputs taken together (multivariate drift: first when it drifted, else last)."""
    result = result or {}
    rows = sorted(result.get("drift") or [], key=lambda d: not d.get("drifted"))
    if result.get("prediction_drift"):
        rows.append({**result["prediction_drift"], "feature": "(the predictions)"})
    together = multivariate_row(result.get("multivariate"))
    if together is not None and together["drifted"]:
        rows.insert(0, together)
    elif together is not None:
        rows.append(together)
    outside = result.get("out_of_range") or {}
    table.setRowCount(len(rows))
    for r, d in enumerate(rows):
        drifted = bool(d.get("drifted"))
        share = outside.get(d.get("feature"))
        cells = [
            cell(str(d.get("feature", ""))),
            cell("DRIFTED" if drifted else "no", color=RED if drifted else GREEN,
                  bold=drifted),
            cell(str(d.get("test", ""))),
            cell(number(d.get("statistic"))),
            cell(number(d.get("threshold"))),
            cell(number(d.get("p_value"), 3)),
            cell(f"{share:.1%}" if isinstance(share, int | float) else "–",
                  color=RED if share else None),
        ]
        for column, item in enumerate(cells):
            if drifted:
                item.setBackground(DRIFTED_BACKGROUND)
            table.setItem(r, column, item)
