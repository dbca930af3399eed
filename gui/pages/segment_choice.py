"""A "Segments:" choice of one model's category inputs (issue 18), on the Back-test and Monitor
pages: "none", or "by COLUMN" for each (those in a corpus's columns when given); read in a
background job (gui.tasks.models.category_inputs), a newer request superseding the one under
way."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QComboBox, QWidget

from gui.context import AppContext
from gui.tasks import models as tasks

log = logging.getLogger(__name__)
NONE = "no segments"


class SegmentChoice(QComboBox):
    def __init__(self, ctx: AppContext, tooltip: str, none: str = NONE,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.none = none
        self.setToolTip(tooltip)
        self.fill([])

    def load(self, model_ref: str | None, columns: list[str] | None = None) -> None:
        """Offer ``model_ref``'s category inputs (None: no model, nothing to offer)."""
        if model_ref is None:
            self.fill([])
            return
        self.ctx.run("segment columns", tasks.category_inputs, self.ctx.workspace, model_ref,
                     columns, key=("segment columns", id(self)), on_finished=self.fill,
                     on_failed=lambda exc: (log.warning("segment columns not read: %s", exc),
                                            self.fill([])))

    def fill(self, names: list[str]) -> None:
        keep = self.currentData()
        self.clear()
        self.addItem(self.none, None)
        for name in names:
            self.addItem(f"by {name}", name)
        self.setCurrentIndex(max(0, self.findData(keep)) if keep is not None else 0)
        self.setEnabled(bool(names))

    def chosen(self) -> tuple[str, ...]:
        name = self.currentData()
        return () if name is None else (name,)
