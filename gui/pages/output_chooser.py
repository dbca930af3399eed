"""Where a run writes its output: a path field, a Change… button, and whether overwriting an
existing file was already agreed to (in the save dialog, or by being our own last output)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from gui.settings import Settings


class OutputChooser(QWidget):
    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("Where to save the predictions")
        self.edit.textEdited.connect(lambda _text: self._agree(None))
        self.change = QPushButton("Change…")
        self.change.clicked.connect(self.choose)
        self._agreed: Path | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Save predictions to:"))
        row.addWidget(self.edit, 1)
        row.addWidget(self.change)

    def _agree(self, path: Path | None) -> None:
        self._agreed = path

    def set_path(self, path: Path | None, overwrite_agreed: bool = False) -> None:
        self.edit.setText("" if path is None else str(path))
        self._agree(path if overwrite_agreed else None)

    def path(self, relative_to: Path) -> Path | None:
        """The chosen file (a relative name counts from ``relative_to``), or None."""
        text = self.edit.text().strip()
        if not text:
            return None
        path = Path(text).expanduser()
        return path if path.is_absolute() else relative_to / path

    def must_ask_before_replacing(self, path: Path) -> bool:
        return path.exists() and path != self._agreed

    def choose(self) -> None:
        start = self.edit.text() or self.settings.last_output_dir
        chosen, _ = QFileDialog.getSaveFileName(self, "Save predictions as", start,
                                                "CSV files (*.csv);;All files (*)")
        if chosen:  # the dialog has already asked before overwriting
            self.set_path(Path(chosen), overwrite_agreed=True)
            self.settings.last_output_dir = str(Path(chosen).parent)
