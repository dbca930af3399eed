"""A "Segments:" choice of one model's category inputs (issue 18): "none", or "by COLUMN" for
each; the inputs are read in a background job when the model changes (gui.tasks.monitor
.segment_choices), and a newer model supersedes the read under way."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QComboBox, QWidget

from gui.context import AppContext
from gui.tasks import monitor as tasks

log = logging.getLogger(__name__)
NONE = "no segments"


class SegmentChoice(QComboBox):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.setToolTip("Break the now-test down by the values of one of the model's category "
                        "inputs (the 20 largest, the rest as \"other\"); with \"All models\" "
                        "the model is known only from the file, so there is none to choose.")
        self.fill([])

    def load(self, model_id: str | None) -> None:
        if model_id is None:
            self.fill([])
            return
        self.ctx.run("segment columns", tasks.segment_choices, self.ctx.workspace, model_id,
                     key=("segment columns", id(self)), on_finished=self.fill,
                     on_failed=lambda exc: (log.warning("segment columns not read: %s", exc),
                                            self.fill([])))

    def fill(self, names: list[str]) -> None:
        keep = self.currentData()
        self.clear()
        self.addItem(NONE, None)
        for name in names:
            self.addItem(f"by {name}", name)
        self.setCurrentIndex(max(0, self.findData(keep)) if keep is not None else 0)
        self.setEnabled(bool(names))

    def chosen(self) -> tuple[str, ...]:
        name = self.currentData()
        return () if name is None else (name,)
