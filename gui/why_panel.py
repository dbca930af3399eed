"""The "Why?" panel: one prediction explained in plain words, a waterfall from the model's
average score to this row's, and each input beside its contribution (engine.services.explain).

Shared by the Predict page's results, the regression cases and the pinned outliers: the page
runs the explanation in a background job and hands the panel its result or its error.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTableWidget, QVBoxLayout, QWidget

from gui.colors import MUTED_STYLE
from gui.tables import cell, make_table, set_row
from gui.waterfall import DOWN, UP, WaterfallChart, contribution_text

COLUMNS = ["Input", "Value", "Moved the score by"]
HINT = "Select a scored row to see why the model predicted what it did."


def summary(why) -> str:
    """The explanation in words (rich text)."""
    up = [name for name, _v, c in sorted(why.items, key=lambda i: -i[2]) if c > 0][:2]
    down = [name for name, _v, c in sorted(why.items, key=lambda i: i[2]) if c < 0][:2]
    moved = []
    if up:
        moved.append(f"raised most by <b>{html.escape(', '.join(up))}</b>")
    if down:
        moved.append(f"lowered most by <b>{html.escape(', '.join(down))}</b>")
    return (f"<b>Prediction: {html.escape(why.decision)}</b> ({html.escape(why.model)}).<br>"
            f"The model's score for {html.escape(why.explained)} starts from its average, "
            f"{why.base:.3f}, and this row's inputs move it to {why.score:.3f}"
            f"{': ' + '; '.join(moved) if moved else ''}. Scores are in "
            f"{html.escape(why.space)}, before they become the prediction; the contributions "
            "add up exactly to the score.")


class WhyPanel(QWidget):
    def __init__(self, parent: QWidget | None = None, shown: int = 10):
        """``shown``: the bars drawn (the strongest inputs; the rest summed into one)."""
        super().__init__(parent)
        self.title = QLabel("Why?")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.text = QLabel(HINT)
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.chart = WaterfallChart(shown=shown)
        self.table: QTableWidget = make_table(COLUMNS)
        self.table.setMinimumHeight(160)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.text)
        layout.addWidget(self.chart)
        layout.addWidget(self.table, 1)
        self.clear()

    def clear(self, message: str = HINT) -> None:
        self.why = None
        self.text.setStyleSheet(MUTED_STYLE)
        self.text.setText(html.escape(message))
        self.chart.clear()
        self.chart.hide()
        self.table.setRowCount(0)
        self.table.hide()

    def loading(self, row: int) -> None:
        self.clear(f"Explaining row {row:,}…")

    def show_unavailable(self, message: str) -> None:
        self.clear(message)

    def show_why(self, why, row: int | None = None) -> None:
        self.why = why
        if why.rejected is not None:
            self.clear(f"Row {row:,} was rejected, so there is nothing to explain: "
                       f"{why.rejected}" if row else why.rejected)
            return
        self.text.setStyleSheet("")
        self.title.setText("Why?" if row is None else f"Why? (row {row:,})")
        self.text.setText(summary(why))
        self.chart.set_data(why.base, [(f"{name} = {value or 'missing'}", c)
                                       for name, value, c in why.items], why.score,
                            unit=why.space)
        self.chart.show()
        ranked = sorted(why.items, key=lambda i: -abs(i[2]))
        self.table.setRowCount(len(ranked))
        for r, (name, value, c) in enumerate(ranked):
            set_row(self.table, r, [cell(name), cell(value or "(missing)"),
                                    cell(contribution_text(c), color=UP if c > 0 else DOWN)])
        self.table.resizeColumnsToContents()
        self.table.show()
