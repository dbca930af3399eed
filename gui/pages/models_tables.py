"""The two tables of the Models page: installed versions, and one model's activation history."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from engine.registry.registry import InstalledVersion
from gui.tasks.models import Snapshot

VERSION_COLUMNS = ["Model", "Version", "State", "Signed by", "Created", "Expires", "Installed"]
HISTORY_COLUMNS = ["When", "What happened", "Version", "Before", "By", "Bundle (sha256)"]
ACTIONS = {"import": "Installed and activated", "activate": "Activated",
           "rollback": "Rolled back"}
EXPIRY_WARNING = dt.timedelta(days=30)
RED = QColor(176, 0, 32)
AMBER = QColor(138, 90, 0)


def _parse(text: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def when(text: str) -> str:
    """Times are stored in UTC; shown to the minute, labelled."""
    moment = _parse(text)
    return text if moment is None else f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def expiry(text: str, now: dt.datetime | None = None) -> tuple[str, QColor | None]:
    moment = _parse(text)
    if moment is None:
        return text, None
    now = now or dt.datetime.now(dt.UTC)
    if moment <= now:
        return f"{moment:%Y-%m-%d} (expired)", RED
    if moment - now <= EXPIRY_WARNING:
        return f"{moment:%Y-%m-%d} (in {(moment - now).days} days)", AMBER
    return f"{moment:%Y-%m-%d}", None


def signer_text(signers: tuple[str, ...], names: dict[str, str]) -> str:
    parts = [f"{names[k]} ({k[:8]})" if k in names else f"key {k[:8]}" for k in signers]
    return ", ".join(parts) or "unsigned"


def _table(columns: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setStretchLastSection(True)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return table


def _item(text: str, tooltip: str = "", color: QColor | None = None,
          bold: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if tooltip:
        item.setToolTip(tooltip)
    if color is not None:
        item.setForeground(color)
    if bold:
        font = QFont(item.font())
        font.setBold(True)
        item.setFont(font)
    return item


def set_row(table: QTableWidget, row: int, cells: list[QTableWidgetItem], role=None,
            data=None) -> None:
    """Put one row's items into `table`; with `role`, each item also carries `data` there
    (e.g. the id a double-click or a selection looks up)."""
    for column, item in enumerate(cells):
        if role is not None:
            item.setData(role, data)
        table.setItem(row, column, item)


def versions_table() -> QTableWidget:
    return _table(VERSION_COLUMNS)


def fill_versions(table: QTableWidget, snap: Snapshot) -> None:
    table.setRowCount(len(snap.versions))
    for row, v in enumerate(snap.versions):
        state = "Active" if v.active else "Installed"
        expires, color = expiry(v.expires)
        cells = [
            _item(v.model_id, bold=v.active),
            _item(str(v.version), bold=v.active),
            _item(state, color=QColor(0, 110, 50) if v.active else None, bold=v.active),
            _item(signer_text(v.signers, snap.signer_names), "\n".join(v.signers)),
            _item(when(v.created)),
            _item(expires, v.expires, color),
            _item(when(v.installed_at)),
        ]
        set_row(table, row, cells, Qt.ItemDataRole.UserRole, (v.model_id, v.version))


def selected_version(table: QTableWidget, snap: Snapshot | None) -> InstalledVersion | None:
    item = table.item(table.currentRow(), 0) if table.currentRow() >= 0 else None
    if item is None or snap is None:
        return None
    model_id, version = item.data(Qt.ItemDataRole.UserRole)
    return snap.find(f"{model_id}@{version}")


def select_version(table: QTableWidget, model_id: str, version: int | None) -> None:
    for row in range(table.rowCount()):
        if table.item(row, 0).data(Qt.ItemDataRole.UserRole) == (model_id, version):
            table.selectRow(row)
            return


def history_table() -> QTableWidget:
    return _table(HISTORY_COLUMNS)


def fill_history(table: QTableWidget, rows: list[dict]) -> None:
    """Newest first."""
    rows = list(reversed(rows))
    table.setRowCount(len(rows))
    for r, entry in enumerate(rows):
        prev = entry.get("previous_version")
        cells = [
            _item(when(entry["at"])),
            _item(ACTIONS.get(entry["action"], entry["action"])),
            _item(str(entry["version"])),
            _item("" if prev is None else str(prev)),
            _item(entry["user"]),
            _item(entry["bundle_sha256"][:16] + "…", entry["bundle_sha256"]),
        ]
        set_row(table, r, cells)
