"""The app's icon (resources/icons/ratchet.svg), with a drawn fallback if it is missing."""

from __future__ import annotations

from PySide6.QtGui import QIcon

from engine.ground.shipped import shipped_dir


def app_icon() -> QIcon:
    path = shipped_dir("resources") / "icons" / "ratchet.svg"
    icon = QIcon(str(path)) if path.is_file() else QIcon()
    if icon.isNull() or icon.pixmap(32, 32).isNull():
        from PySide6.QtCore import Qt
        from PySide6.QtGui import QColor, QPainter, QPixmap

        pixmap = QPixmap(64, 64)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(QColor("#1f6f78"))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawEllipse(4, 4, 56, 56)
        painter.end()
        icon = QIcon(pixmap)
    return icon
