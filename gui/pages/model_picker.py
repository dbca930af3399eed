"""Which model a page works with: the active version of one of the installed models.

Predictions use a model's active version at the moment they run. With several models
installed, the operator picks one here. A page that works on a file (Predict, Monitor's
now-test) offers first "by the file's columns": the engine then takes the one active model
whose inputs the file's header covers, and asks when several do (engine.registry.choice). A
page without a file keeps the operator's choice, else shows the first model by id; it never
silently follows the model activated most recently.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from engine.registry.registry import InstalledVersion
from gui.tasks.models import Snapshot

BY_FILE = "By the file's columns"


class ModelPicker(QWidget):
    changed = Signal()  # the chosen model, or its active version, changed

    def __init__(self, parent: QWidget | None = None, by_file: str | None = None):
        """``by_file``: the text of a first item meaning "by the file's columns" (its
        model_id() is None), or None for a page that always works with one chosen model."""
        super().__init__(parent)
        self.by_file = by_file
        self.combo = QComboBox()
        self.combo.setMinimumContentsLength(28)
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self._snapshot: Snapshot | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Model:"))
        row.addWidget(self.combo)
        row.addStretch(1)

    def set_snapshot(self, snap: Snapshot) -> None:
        """Offer the active version of every installed model; keep the choice if it still
        exists, else "by the file's columns" (where offered) or the first model by id."""
        before = (self.model_id(), self.current())
        keep = self.model_id()
        actives = sorted((v for v in snap.versions if v.active), key=lambda v: v.model_id)
        self._snapshot = snap
        self.combo.blockSignals(True)
        self.combo.clear()
        if self.by_file is not None and actives:
            self.combo.addItem(self.by_file, None)
        for v in actives:
            self.combo.addItem(f"{v.model_id}, version {v.version}", v.model_id)
        index = self.combo.findData(keep) if keep is not None else -1
        self.combo.setCurrentIndex(index if index >= 0 else 0 if actives else -1)
        self.combo.setEnabled(bool(actives))
        self.combo.blockSignals(False)
        if (self.model_id(), self.current()) != before:
            self.changed.emit()

    def models(self) -> list[str]:
        """The ids of the models offered."""
        return [d for d in (self.combo.itemData(i) for i in range(self.combo.count()))
                if isinstance(d, str)]

    def choose(self, model_id: str | None) -> None:
        """Choose a model by id (None: "by the file's columns", where offered)."""
        index = self.combo.findData(model_id) if model_id is not None else (
            0 if self.by_file is not None and self.combo.count() else -1)
        if index >= 0:
            self.combo.setCurrentIndex(index)

    def by_file_chosen(self) -> bool:
        return self.by_file is not None and self.combo.count() > 0 and self.model_id() is None

    def model_id(self) -> str | None:
        """The chosen model's id (None: by the file's columns, or no model yet)."""
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
