"""The two tables of the Models page: installed versions, and one model's activation history."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QTableWidget

from engine.registry.registry import InstalledVersion
from gui.colors import AMBER, GREEN, RED
from gui.tables import cell, make_table, parse_time, set_row, when
from gui.tasks.models import Snapshot

VERSION_COLUMNS = ["Model", "Version", "State", "Signed by", "Created", "Expires", "Installed"]
HISTORY_COLUMNS = ["When", "What happened", "Version", "Before", "By", "Bundle (sha256)"]
ACTIONS = {"import": "Installed and activated", "activate": "Activated",
           "rollback": "Rolled back", "deactivate": "Deactivated",
           "repair": "Repaired (re-installed the same bundle)"}
EXPIRY_WARNING = dt.timedelta(days=30)


def expiry(text: str, now: dt.datetime | None = None) -> tuple[str, QColor | None]:
    moment = parse_time(text)
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


def versions_table() -> QTableWidget:
    return make_table(VERSION_COLUMNS)


def fill_versions(table: QTableWidget, snap: Snapshot) -> None:
    table.setRowCount(len(snap.versions))
    for row, v in enumerate(snap.versions):
        state = "Active" if v.active else "Installed"
        expires, color = expiry(v.expires)
        cells = [
            cell(v.model_id, bold=v.active),
            cell(str(v.version), bold=v.active),
            cell(state, color=GREEN if v.active else None, bold=v.active),
            cell(signer_text(v.signers, snap.signer_names), "\n".join(v.signers)),
            cell(when(v.created)),
            cell(expires, v.expires, color),
            cell(when(v.installed_at)),
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
    return make_table(HISTORY_COLUMNS)


def fill_history(table: QTableWidget, rows: list[dict]) -> None:
    """Newest first."""
    rows = list(reversed(rows))
    table.setRowCount(len(rows))
    for r, entry in enumerate(rows):
        prev = entry.get("previous_version")
        cells = [
            cell(when(entry["at"])),
            cell(ACTIONS.get(entry["action"], entry["action"])),
            cell(str(entry["version"])),
            cell("" if prev is None else str(prev)),
            cell(entry["user"]),
            cell(entry["bundle_sha256"][:16] + "…", entry["bundle_sha256"]),
        ]
        set_row(table, r, cells)
