"""One tray notice per burst of new alarms, from the folder watcher and from the app's own
now-tests: a hundred files arriving at once make one balloon, not a hundred."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal, Slot

log = logging.getLogger(__name__)

COALESCE_MS = 400  # alarms raised this close together make one balloon


def balloon_text(alarms: list) -> tuple[str, str]:
    """The tray balloon for one batch of new alarms: the model in the title, the first
    alarm's sentence (model, metric, value and minimum), and how many more there are."""
    models = list(dict.fromkeys(a.model for a in alarms))
    title = f"Ratchet alarm: {', '.join(models)}" if len(models) <= 2 else \
        f"Ratchet alarms: {len(models)} models"
    first = alarms[0]
    message = first.message.removeprefix(f"{first.model}: ")  # the title names the model
    if len(alarms) > 1:
        message += f"\n…and {len(alarms) - 1} more alarm{'s' if len(alarms) > 2 else ''}. " \
                   "Click to open the Monitor page."
    else:
        message += "\nClick to open the Monitor page."
    return title, message


class AlarmNotifier(QObject):
    """Collects new alarms from the watcher and from the app's own now-tests, and announces
    them as one notice per burst (a hundred files arriving at once make one balloon)."""

    notice = Signal(str, str, object)  # title, message, the alarms

    def __init__(self, parent: QObject | None = None, delay_ms: int = COALESCE_MS):
        super().__init__(parent)
        self._pending: list = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self._flush)

    def add(self, alarms: list) -> None:
        seen = {a.id for a in self._pending}
        self._pending.extend(a for a in alarms if a.id not in seen)
        if self._pending and not self._timer.isActive():
            self._timer.start()

    @Slot()
    def _flush(self) -> None:
        alarms, self._pending = self._pending, []
        if alarms:
            title, message = balloon_text(alarms)
            log.warning("%s: %s", title, message.splitlines()[0])
            self.notice.emit(title, message, alarms)
