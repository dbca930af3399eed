"""The tray icon: the app's state (the active model, a run in progress), a menu, and alarm
balloons (clicking one opens the Monitor page).

Created only where a system tray exists (``Tray.available()``); without one, closing the
window quits the app instead of hiding it.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon


class Tray(QObject):
    show_requested = Signal()
    quit_requested = Signal()
    alarm_shown = Signal(str, str)  # title, message: a balloon was asked for
    alarm_clicked = Signal()  # the operator clicked the last alarm balloon

    def __init__(self, icon: QIcon, parent: QObject | None = None):
        super().__init__(parent)
        self.icon = QSystemTrayIcon(icon, self)
        self.menu = QMenu()  # a QMenu cannot have a QObject parent; kept alive here
        self.show_action = self.menu.addAction("Show Ratchet")
        self.show_action.triggered.connect(self.show_requested)
        self.state_action = self.menu.addAction("")
        self.state_action.setEnabled(False)
        self.menu.addSeparator()
        self.quit_action = self.menu.addAction("Quit Ratchet")
        self.quit_action.triggered.connect(self.quit_requested)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.icon.messageClicked.connect(self._message_clicked)
        self._last_balloon_is_alarm = False
        self.set_state("Starting…")

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def set_state(self, text: str) -> None:
        self.state_action.setText(text)
        self.icon.setToolTip(f"Ratchet\n{text}")

    def notify(self, title: str, message: str) -> None:
        self._last_balloon_is_alarm = False
        self.icon.showMessage(title, message, QSystemTrayIcon.MessageIcon.Information, 8000)

    def alarm(self, title: str, message: str) -> None:
        """A warning balloon; clicking it emits ``alarm_clicked`` (the Monitor page opens)."""
        self._last_balloon_is_alarm = True
        self.icon.showMessage(title, message, QSystemTrayIcon.MessageIcon.Warning, 20000)
        self.alarm_shown.emit(title, message)

    def _message_clicked(self) -> None:
        if self._last_balloon_is_alarm:
            self.alarm_clicked.emit()
        else:
            self.show_requested.emit()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger,
                      QSystemTrayIcon.ActivationReason.DoubleClick):
            self.show_requested.emit()
