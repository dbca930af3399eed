"""The results of a prediction run: counts, where the file went, and a table preview.

The table shows a bounded :class:`~gui.tasks.preview.Preview` (read in a worker), never the
whole file. The columns Ratchet appended (status, prediction, probabilities, error) come first,
then the input's own columns; rejected rows are tinted and their reason is shown in full below
the table and as a tooltip.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from engine.batch.result import BatchResult
from gui.colors import GREEN, MUTED_STYLE, RED, RED_TINT
from gui.tasks.preview import Preview
from gui.why_panel import WhyPanel

REJECTED_BACKGROUND = RED_TINT
REJECTED_TEXT = RED
OK_TEXT = GREEN
ERROR_COLUMN_WIDTH = 460
Index = QModelIndex | QPersistentModelIndex


class ResultsModel(QAbstractTableModel):
    """A read-only table over a Preview: all its rows, or only the rejected ones."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._preview: Preview | None = None
        self._only_rejected = False
        self._order: list[int] = []  # display column -> column in the file

    # -- content ---------------------------------------------------------------------------
    def set_preview(self, preview: Preview | None) -> None:
        self.beginResetModel()
        self._preview = preview
        self._order = self._column_order(preview.header) if preview else []
        self.endResetModel()

    def set_only_rejected(self, only: bool) -> None:
        self.beginResetModel()
        self._only_rejected = only
        self.endResetModel()

    @staticmethod
    def _column_order(header: list[str]) -> list[int]:
        appended_from = max((i for i, h in enumerate(header) if h == "prediction"),
                            default=len(header))
        appended = list(range(appended_from, len(header)))  # prediction, proba_*, status, error
        # status, prediction, probabilities, error: what an operator reads first
        first = [appended[-2], *appended[:-2], appended[-1]] if len(appended) >= 3 else appended
        return first + list(range(appended_from))

    def _rows(self) -> list[tuple[int, list[str]]]:
        if self._preview is None:
            return []
        return self._preview.rejected if self._only_rejected else self._preview.rows

    @property
    def preview(self) -> Preview | None:
        return self._preview

    def record(self, row: int) -> tuple[int, list[str]] | None:
        rows = self._rows()
        return rows[row] if 0 <= row < len(rows) else None

    def is_rejected(self, fields: list[str]) -> bool:
        p = self._preview
        return p is not None and len(fields) > p.status_column \
            and fields[p.status_column] == "rejected"

    def column_name(self, column: int) -> str:
        return self._preview.header[self._order[column]] if self._preview else ""

    def inputs(self, row: int) -> tuple[int, dict[str, str]] | None:
        """A shown row's number and its input fields: the file's columns before
        ``prediction`` (the ones Ratchet appended come after)."""
        record = self.record(row)
        if record is None or self._preview is None or "prediction" not in self._preview.header:
            return None
        number, fields = record
        names = self._preview.header[:self._preview.header.index("prediction")]
        return number, {n: fields[i] if i < len(fields) else "" for i, n in enumerate(names)}

    # -- Qt model --------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows())

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._order)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole or self._preview is None:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.column_name(section)
        record = self.record(section)
        return None if record is None else f"{record[0]:,}"

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        record = self.record(index.row())
        if record is None or self._preview is None:
            return None
        number, fields = record
        source = self._order[index.column()]
        value = fields[source] if source < len(fields) else ""
        rejected = self.is_rejected(fields)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._short(self._preview.header[source], value)
        if role == Qt.ItemDataRole.ToolTipRole:
            if rejected:
                return f"Row {number:,} was rejected: {fields[self._preview.error_column]}"
            return value if value != self._short(self._preview.header[source], value) else None
        if role == Qt.ItemDataRole.BackgroundRole and rejected:
            return REJECTED_BACKGROUND
        if role == Qt.ItemDataRole.ForegroundRole and source == self._preview.status_column:
            return REJECTED_TEXT if rejected else OK_TEXT
        return None

    @staticmethod
    def _short(column: str, value: str) -> str:
        """Probabilities to 4 decimals on screen (the file keeps every digit)."""
        if column.startswith("proba_") and value:
            try:
                return f"{float(value):.4f}"
            except ValueError:
                return value
        return value


class ResultsPanel(QWidget):
    """Counts, the saved file, the rejected-only filter and the table."""

    pin_requested = Signal(int, dict)  # row number in the input file, its input fields
    explain_requested = Signal(int, dict)  # a scored row was selected: explain it

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = ResultsModel(self)
        self.counts = QLabel()
        font = self.counts.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        self.counts.setFont(font)
        self.saved_to = QLabel()
        self.saved_to.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.saved_to.setWordWrap(True)
        self.open_folder = QPushButton("Open folder")
        self.open_folder.clicked.connect(self._open_folder)
        self.only_rejected = QCheckBox("Show only rejected rows")
        self.only_rejected.toggled.connect(self._filter)
        self.pin_button = QPushButton("Pin as outlier…")
        self.pin_button.setToolTip("Add the selected row to the model's regression suite on "
                                   "this workstation: every later run must reproduce today's "
                                   "output for it.")
        self.pin_button.clicked.connect(self._pin_selected)
        self.note = QLabel()
        self.note.setStyleSheet(MUTED_STYLE)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        # Fit columns to the first rows only: measuring every cell of a 2,000-row preview
        # would hold the UI thread for a noticeable moment.
        self.table.horizontalHeader().setResizeContentsPrecision(100)
        self.table.verticalHeader().setDefaultSectionSize(
            self.table.fontMetrics().height() + 6)
        self.table.selectionModel().currentRowChanged.connect(self._show_reason)
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        self.reason.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._output: Path | None = None
        self._result: BatchResult | None = None

        top = QHBoxLayout()
        top.addWidget(self.counts, 1)
        top.addWidget(self.open_folder)
        filters = QHBoxLayout()
        filters.addWidget(self.only_rejected)
        filters.addWidget(self.pin_button)
        filters.addStretch(1)
        filters.addWidget(self.note)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.saved_to)
        layout.addLayout(filters)
        self.why = WhyPanel(shown=7)
        why_scroll = QScrollArea()  # the panel keeps its bars whole on a short window
        why_scroll.setWidgetResizable(True)
        why_scroll.setFrameShape(QFrame.Shape.NoFrame)
        why_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        why_scroll.setMinimumWidth(380)
        why_scroll.setWidget(self.why)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(why_scroll)
        split.setChildrenCollapsible(False)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([640, 420])
        layout.addWidget(split, 1)
        layout.addWidget(self.reason)
        self.clear()

    def clear(self) -> None:
        self._output = None
        self._result = None
        self.model.set_preview(None)
        self.counts.setText("")
        self.saved_to.setText("")
        self.note.setText("")
        self.reason.setText("")
        self.only_rejected.setChecked(False)
        self.only_rejected.setText("Show only rejected rows")
        self.open_folder.setEnabled(False)
        self.pin_button.setEnabled(False)
        self.why.clear()

    def show_result(self, result: BatchResult) -> None:
        self._result = result
        self._output = Path(result.output)
        self.counts.setText(f"{result.rows:,} rows scored: {result.ok:,} ok, "
                            f"{result.rejected:,} rejected")
        self.counts.setStyleSheet(
            f"color: {REJECTED_TEXT.name()};" if result.rejected else "")
        self.saved_to.setText(f"Saved to {result.output} (with its provenance record "
                              f"{Path(result.output).name}.provenance.json), model "
                              f"{result.model}.")
        self.only_rejected.setText(f"Show only rejected rows ({result.rejected:,})")
        self.open_folder.setEnabled(True)
        self.note.setText("Loading the preview…")

    def show_preview(self, preview: Preview) -> None:
        self.model.set_preview(preview)
        self.pin_button.setEnabled(False)
        self._resize_columns()
        self._update_note()

    def _resize_columns(self) -> None:
        self.table.resizeColumnsToContents()
        any_rejected = bool(self.model.preview and self.model.preview.rejected)
        wide_enough = self.table.fontMetrics().horizontalAdvance("rejected") + 24
        for column in range(self.model.columnCount()):
            if self.model.column_name(column) == "status":  # "rejected" whole, never "reje…"
                self.table.setColumnWidth(column, max(self.table.columnWidth(column),
                                                      wide_enough))
            elif self.model.column_name(column) == "error" and any_rejected:
                self.table.setColumnWidth(column, ERROR_COLUMN_WIDTH)
            elif self.table.columnWidth(column) > 220:
                self.table.setColumnWidth(column, 220)

    def _filter(self, only: bool) -> None:
        self.model.set_only_rejected(only)
        self.reason.setText("")
        self.pin_button.setEnabled(False)  # the reset dropped the selection
        self._update_note()

    def _update_note(self) -> None:
        total = self._result.rows if self._result else 0
        rejected = self._result.rejected if self._result else 0
        shown = self.model.rowCount()
        if self.only_rejected.isChecked():
            what = f"{shown:,} of {rejected:,} rejected rows" if shown < rejected \
                else f"all {rejected:,} rejected rows"
        else:
            what = f"the first {shown:,} of {total:,} rows" if shown < total \
                else f"all {total:,} rows"
        self.note.setText(f"Showing {what}. Hover over a row, or select it, to read its "
                          "reason." if rejected else f"Showing {what}.")

    def _show_reason(self, current: QModelIndex, _previous: QModelIndex) -> None:
        record = self.model.record(current.row())
        preview = self.model.preview
        self.pin_button.setEnabled(self.model.inputs(current.row()) is not None)
        if record is None or preview is None:
            self.reason.setText("")
            return
        number, fields = record
        if self.model.is_rejected(fields):
            self.reason.setText(f"<b>Row {number:,} was rejected:</b> "
                                f"{html.escape(fields[preview.error_column])}")
            self.why.clear(f"Row {number:,} was rejected, so there is nothing to explain.")
        else:
            self.reason.setText(f"Row {number:,} was scored.")
            inputs = self.model.inputs(current.row())
            if inputs is not None:
                self.explain_requested.emit(*inputs)

    def selected_inputs(self) -> tuple[int, dict[str, str]] | None:
        index = self.table.selectionModel().currentIndex()
        return self.model.inputs(index.row()) if index.isValid() else None

    def _pin_selected(self) -> None:
        chosen = self.selected_inputs()
        if chosen is not None:
            self.pin_requested.emit(*chosen)

    def _open_folder(self) -> None:
        if self._output is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._output.parent)))
