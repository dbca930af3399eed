"""The Settings page's table of watch folders: each folder with the model its new CSV files
are now-tested with (a combo of the installed models, or "Any (by the file's header)"), and
Add folder…/Remove. It only edits; the page saves it (as the setting `watch.folders`) with its
other fields, all or nothing."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.tables import cell, make_table

BY_HEADER = "Any (by the file's header)"
COLUMNS = ["Folder", "Model"]


class WatchFoldersTable(QWidget):
    changed = Signal()  # the operator added, removed or re-bound a folder

    def __init__(self, start_dir=lambda: "", parent: QWidget | None = None):
        super().__init__(parent)
        self.start_dir = start_dir  # where "Add folder…" opens
        self.models: list[str] = []
        self.table = make_table(COLUMNS)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setMinimumHeight(110)
        self.add_button = QPushButton("Add folder…")
        self.add_button.clicked.connect(lambda _checked=False: self._browse())
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(lambda _checked=False: self.remove_selected())
        self.table.itemSelectionChanged.connect(self._selection)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self._selection()

    # -- filling ---------------------------------------------------------------------------
    def set_models(self, models: list[str]) -> None:
        """The installed model ids a folder can be bound to (the rows keep their choice)."""
        kept = self.bindings()
        self.models = list(models)
        self.set_bindings(kept)

    def set_bindings(self, bindings: list[dict]) -> None:
        """Show these {"folder", "model"} rows (as stored), replacing what is shown."""
        self.table.setRowCount(0)
        for binding in bindings:
            self._append(binding["folder"], binding.get("model"))
        self._selection()

    def _append(self, folder: str, model: str | None) -> int:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, 0, cell(folder, folder))
        combo = QComboBox()
        combo.addItem(BY_HEADER, None)
        for model_id in dict.fromkeys([*self.models, *([model] if model else [])]):
            label = model_id if model_id in self.models else f"{model_id} (not installed)"
            combo.addItem(label, model_id)
        combo.setCurrentIndex(max(0, combo.findData(model)) if model else 0)
        combo.setToolTip("The model this folder's files are now-tested with; “Any” takes "
                         "the model whose inputs the file's header has.")
        combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.table.setCellWidget(row, 1, combo)
        return row

    # -- editing ---------------------------------------------------------------------------
    def add_folder(self, folder: str, model: str | None = None) -> None:
        """Add a folder (a folder already listed is selected instead, not listed twice)."""
        for row, binding in enumerate(self.bindings()):
            if binding["folder"].rstrip("/\\") == folder.rstrip("/\\"):
                self.table.selectRow(row)
                return
        row = self._append(folder, model)
        self.table.selectRow(row)
        self.changed.emit()

    def set_model(self, row: int, model: str | None) -> None:
        combo = self.table.cellWidget(row, 1)
        combo.setCurrentIndex(max(0, combo.findData(model)) if model else 0)

    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        for row in rows:
            self.table.removeRow(row)
        if rows:
            self.changed.emit()
        self._selection()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder to watch",
                                                  self.start_dir())
        if folder:
            self.add_folder(folder)

    def _selection(self) -> None:
        self.remove_button.setEnabled(self.isEnabled() and bool(self.table.selectedIndexes()))

    def set_busy(self, busy: bool) -> None:
        """While the page loads or saves, nothing can be changed."""
        self.setEnabled(not busy)
        self._selection()

    # -- reading ---------------------------------------------------------------------------
    def bindings(self) -> list[dict]:
        """The rows as {"folder", "model"} (model None: by the file's header)."""
        out = []
        for row in range(self.table.rowCount()):
            combo = self.table.cellWidget(row, 1)
            out.append({"folder": self.table.item(row, 0).text(),
                        "model": combo.currentData() if combo is not None else None})
        return out
