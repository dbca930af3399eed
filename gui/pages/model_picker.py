"""Which model a page works with: the active version of one of the installed models.

Predictions use a model's active version at the moment they run; with several models
installed, the operator picks which one here (by default the one activated most recently).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from engine.registry.registry import InstalledVersion
from gui.tasks.models import Snapshot


class ModelPicker(QWidget):
    changed = Signal()  # the chosen model, or its active version, changed

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setMinimumContentsLength(28)
        self.combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self._snapshot: Snapshot | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Model:"))
        row.addWidget(self.combo)
        row.addStretch(1)

    def set_snapshot(self, snap: Snapshot) -> None:
        """Offer the active version of every installed model; keep the choice if it still
        exists, else choose the model activated most recently."""
        before = self.current()
        keep = self.model_id() or (snap.active_label or "").partition("@")[0]
        actives = [v for v in snap.versions if v.active]
        self._snapshot = snap
        self.combo.blockSignals(True)
        self.combo.clear()
        for v in actives:
            self.combo.addItem(f"{v.model_id}, version {v.version}", v.model_id)
        index = self.combo.findData(keep)
        self.combo.setCurrentIndex(index if index >= 0 else 0 if actives else -1)
        self.combo.setEnabled(bool(actives))
        self.combo.blockSignals(False)
        if self.current() != before:
            self.changed.emit()

    def model_id(self) -> str | None:
        """The chosen model's id (None: none yet, the engine then takes the latest active)."""
        data = self.combo.currentData()
        return data if isinstance(data, str) else None

    def current(self) -> InstalledVersion | None:
        if self._snapshot is None or self.model_id() is None:
            return None
        return next((v for v in self._snapshot.versions
                     if v.model_id == self.model_id() and v.active), None)

    def label(self) -> str | None:
        chosen = self.current()
        return None if chosen is None else f"{chosen.model_id}@{chosen.version}"
