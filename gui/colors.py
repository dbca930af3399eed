"""The app's colours, defined once: what passed, failed, needs a look, or is only a note.

Tables take the ``QColor``s; rich text and style sheets take ``.name()`` or the ready styles
below. The red is the one the charts draw requirement lines in, too.
"""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel

RED = QColor(176, 0, 32)  # #b00020: failed, rejected, an alarm, a requirement missed
GREEN = QColor(0, 110, 50)  # #006e32: passed, active, ready
AMBER = QColor(138, 90, 0)  # #8a5a00: soon expiring, some rows cannot be scored
GREY = QColor(110, 110, 110)  # acknowledged, nothing to say
MUTED = "#555"  # notes and explanations under a title
RED_TINT = QColor(253, 228, 228)  # the background of a drifted or rejected row

MUTED_STYLE = f"color: {MUTED};"
ERROR_STYLE = f"color: {RED.name()}; font-weight: 600;"


def muted(label: QLabel) -> QLabel:
    """A note's grey text (returned, to be placed in one line)."""
    label.setStyleSheet(MUTED_STYLE)
    return label
