"""What every table of the app is made of: a read-only, row-selecting table, its items
(optionally coloured or bold), a row at a time, and times shown to the minute in UTC."""

from __future__ import annotations

import datetime as dt

from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem


def parse_time(text: str) -> dt.datetime | None:
    """A stored ISO time (``Z`` or an offset; naive means UTC), or None if it is not one."""
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def when(text: str) -> str:
    """Times are stored in UTC; shown to the minute, labelled."""
    moment = parse_time(text)
    return text if moment is None else f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def make_table(columns: list[str]) -> QTableWidget:
    """A read-only table that selects whole rows, one at a time, columns sized to content."""
    widget = QTableWidget(0, len(columns))
    widget.setHorizontalHeaderLabels(columns)
    widget.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    widget.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    widget.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    widget.verticalHeader().setVisible(False)
    widget.horizontalHeader().setStretchLastSection(True)
    widget.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return widget


def cell(text: str, tooltip: str = "", color: QColor | None = None,
         bold: bool = False) -> QTableWidgetItem:
    cell = QTableWidgetItem(text)
    if tooltip:
        cell.setToolTip(tooltip)
    if color is not None:
        cell.setForeground(color)
    if bold:
        font = QFont(cell.font())
        font.setBold(True)
        cell.setFont(font)
    return cell


def set_row(widget: QTableWidget, row: int, cells: list[QTableWidgetItem], role=None,
            data=None) -> None:
    """Put one row's items into ``widget``; with ``role``, each item also carries ``data``
    there (e.g. the id a double-click or a selection looks up)."""
    for column, cell in enumerate(cells):
        if role is not None:
            cell.setData(role, data)
        widget.setItem(row, column, cell)
