"""Dropping a file onto a page: a mixin for widgets that open local files dropped on them."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QDragEnterEvent, QDropEvent


class FileDropMixin:
    """Put it before QWidget in the bases, call ``setAcceptDrops(True)``, and define
    ``accepts_drop()`` (False while busy) and ``file_dropped(path)``."""

    def accepts_drop(self) -> bool:
        return True

    def file_dropped(self, path: Path) -> None:
        raise NotImplementedError

    @staticmethod
    def dropped_file(event: QDragEnterEvent | QDropEvent) -> Path | None:
        """The first local file of a drag, or None (URLs from the web are not files)."""
        mime = event.mimeData()
        urls = mime.urls() if mime.hasUrls() else []
        files = [Path(u.toLocalFile()) for u in urls if u.isLocalFile()]
        return files[0] if files else None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.accepts_drop() and self.dropped_file(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        path = self.dropped_file(event)
        if path is None or not self.accepts_drop():
            event.ignore()
            return
        event.acceptProposedAction()
        self.file_dropped(path)
