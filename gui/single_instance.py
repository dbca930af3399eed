"""One app per workspace: a second launch hands its request to the running app and exits.

The running app listens on a local socket (a named pipe on Windows) whose name is derived from
its workspace's path, so two workspaces may each have their app. A launch first tries to hand
its request over (:func:`hand_over`): one JSON line, ``{"import": PATH}`` (a bundle),
``{"predict": PATH}`` (a CSV) or ``{"show": true}``, answered by ``ok``. When nobody answers
the name, the launch becomes the running app and listens (:class:`InstanceServer`); a name left
behind by an app that crashed is removed first.

Only QtCore and QtNetwork are used, and the client side needs no QApplication: the launcher
asks before it opens the workspace or builds a window.
"""

from __future__ import annotations

import enum
import json
import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from gui.instance_name import server_name

log = logging.getLogger(__name__)

CONNECT_MS = 1000
ANSWER_MS = 5000
REPLY = b"ok\n"
REQUEST_KINDS = ("import", "predict", "show")


class Handover(enum.Enum):
    SENT = "sent"  # the running app took the request
    NO_APP = "no app"  # nobody runs on this workspace: this launch becomes the app
    NO_ANSWER = "no answer"  # an app is there but did not answer in time


def hand_over(workspace: Path | str, request: dict, connect_ms: int = CONNECT_MS,
              answer_ms: int = ANSWER_MS) -> Handover:
    """Give ``request`` to the app running on ``workspace``, if there is one."""
    socket = QLocalSocket()
    socket.connectToServer(server_name(workspace))
    if not socket.waitForConnected(connect_ms):
        return Handover.NO_APP
    socket.write(json.dumps(request).encode("utf-8") + b"\n")
    socket.waitForBytesWritten(answer_ms)
    answer = b""
    while not answer.endswith(b"\n") and socket.waitForReadyRead(answer_ms):
        answer += bytes(socket.readAll().data())
    socket.disconnectFromServer()
    return Handover.SENT if answer == REPLY else Handover.NO_ANSWER


def _alive(name: str) -> bool:
    socket = QLocalSocket()
    socket.connectToServer(name)
    alive = socket.waitForConnected(CONNECT_MS)
    socket.abort()
    return alive


def parse_request(line: bytes) -> dict | None:
    """A request as sent by :func:`hand_over`, or None when it is not one."""
    try:
        request = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(request, dict) or len(request) != 1 or \
            next(iter(request)) not in REQUEST_KINDS:
        return None
    return request


class InstanceServer(QObject):
    """Listens for later launches on the same workspace; each request becomes ``received``."""

    received = Signal(dict)

    def __init__(self, workspace: Path | str, parent: QObject | None = None):
        super().__init__(parent)
        self.name = server_name(workspace)
        self.server = QLocalServer(self)
        self.server.newConnection.connect(self._connected)

    def start(self) -> bool:
        """Listen; a name left by a crashed app is removed first. False when it cannot."""
        if self.server.listen(self.name):
            return True
        if _alive(self.name):  # another app listens (a smoke run beside it): leave it be
            log.warning("another app already listens on %s; this one takes no requests",
                        self.name)
            return False
        log.info("removing the stale app socket %s (%s)", self.name, self.server.errorString())
        QLocalServer.removeServer(self.name)
        if self.server.listen(self.name):
            return True
        log.warning("cannot listen for other launches on %s: %s", self.name,
                    self.server.errorString())
        return False

    def stop(self) -> None:
        self.server.close()

    def _connected(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            socket.readyRead.connect(self._read)
            socket.disconnected.connect(socket.deleteLater)

    @Slot()
    def _read(self) -> None:
        socket = self.sender()
        if not isinstance(socket, QLocalSocket) or not socket.canReadLine():
            return  # the rest of the line is still coming
        line = bytes(socket.readLine().data()).rstrip(b"\n")
        request = parse_request(line)
        if request is None:
            log.warning("ignored a malformed request from another launch: %r", line[:200])
            socket.disconnectFromServer()
            return
        socket.write(REPLY)
        socket.flush()
        self.received.emit(request)
