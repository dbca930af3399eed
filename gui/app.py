"""Builds and runs the desktop application: logging, excepthooks, settings, tray, main window.

The launcher has already opened the workspace and installed the demo model on first start
(before Qt was imported); it passes the workspace root and the first status line here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

from engine.doctor.checks import FATAL
from engine.ground.paths import Workspace
from gui import logs, qtcompat
from gui.context import AppContext
from gui.excepthooks import ExceptionRelay, install_excepthooks
from gui.health import HealthWindow, check_workspace, is_fatal
from gui.icons import app_icon
from gui.main_window import MainWindow
from gui.settings import load_settings
from gui.single_instance import InstanceServer
from gui.tray import Tray
from gui.workers import Jobs

log = logging.getLogger(__name__)


class RatchetApplication(QApplication):
    """Announces a quit request before Qt acts on it.

    In Qt 6, ``quit()`` first asks every window to close and gives up if one refuses. With a
    tray, the main window refuses (it hides instead), so it must learn that this close is a
    quit: the smoke timer, the tray's Quit, a session ending.
    """

    quit_requested = Signal()

    def event(self, e: QEvent) -> bool:
        if e.type() == QEvent.Type.Quit:
            self.quit_requested.emit()
        return super().event(e)


@dataclass(slots=True)
class App:
    """Everything that must stay alive while the event loop runs."""

    qt: QApplication
    window: MainWindow
    tray: Tray | None
    relay: ExceptionRelay | None


def build_app(workspace: Path, status: str | None = None, use_tray: bool | None = None,
              hooks: bool = True) -> App:
    """The application's objects, the window not yet shown.

    ``use_tray`` None: a tray icon when the desktop has a system tray. ``hooks`` False leaves
    sys/threading excepthooks alone (the tests' own hooks must keep catching errors).
    """
    qt = QApplication.instance() or RatchetApplication(["ratchet"])
    qt.setApplicationName("Ratchet")
    qt.setOrganizationName("Ratchet")
    qt.setWindowIcon(app_icon())
    ctx = AppContext(Path(workspace), Jobs(), load_settings())
    tray = None
    if use_tray or (use_tray is None and Tray.available()):
        tray = Tray(app_icon())
    window = MainWindow(ctx, tray=tray, status=status)
    relay = install_excepthooks(lambda: window if window.isVisible() else None) if hooks \
        else None
    # With a tray, closing the window hides it; the app ends by File > Quit or the tray.
    qt.setQuitOnLastWindowClosed(tray is None)
    if isinstance(qt, RatchetApplication):
        qt.quit_requested.connect(window.prepare_quit)
    qt.aboutToQuit.connect(window.shutdown)
    return App(qt, window, tray, relay)


def run_app(argv: list[str], smoke_seconds: float | None = None, status: str | None = None,
            workspace: Path | str | None = None, bundle: Path | None = None,
            findings: list | None = None, csv: Path | None = None) -> int:
    """Show the main window and run the event loop; return the process exit code.

    With ``smoke_seconds`` the app quits by itself after that long, exit code 0. With
    ``bundle`` (a double-clicked .ratchet file) the Models page verifies it and asks first;
    with ``csv`` the Predict page opens on it. Later launches on the same workspace hand their
    file to this app (gui/single_instance.py).
    ``findings``: the start-up workspace check (gui.health); a workspace that cannot be used
    opens on the health window, and the app opens once it is repaired.
    """
    qt = QApplication.instance() or RatchetApplication(argv)
    try:
        ws = Workspace.open(workspace)
    except OSError as exc:
        QMessageBox.critical(None, "Ratchet", f"The workspace cannot be opened: {exc}")
        return 2
    path = logs.setup_logging(ws.logs_dir)
    log.info("Ratchet app starting; workspace %s, log %s", ws.root, path)
    if qtcompat.IMMORTALIZED:
        log.info("PySide6 %s leaks references on this Python; guarded (see gui/qtcompat.py)",
                 qtcompat.PYSIDE_VERSION)
    findings = list(findings or [])
    opened: dict[str, object] = {}
    pending: list[dict] = []  # requests from other launches while the health window waits

    def open_main() -> None:
        app = build_app(ws.root, status)
        opened["app"] = app
        app.window.show()
        if app.tray is not None:
            app.tray.show()
        app.window.health.show_findings([f for f in findings if f.code not in FATAL]
                                        if "health" not in opened else check_workspace(ws.root))
        app.window.watch.start()  # the watch folder of the settings, if one is set
        if bundle is not None:
            app.window.open_request({"import": str(bundle)})
        elif csv is not None:
            app.window.open_request({"predict": str(csv)})
        for request in pending:
            app.window.open_request(request)
        pending.clear()

    def take_request(request: dict) -> None:
        log.info("request from another launch: %s", request)
        app = opened.get("app")
        if isinstance(app, App):
            app.window.open_request(request)
        elif "health" in opened:  # still waiting for the repair: the file waits too
            pending.append(request)
            health = opened["health"]
            health.showNormal()  # type: ignore[attr-defined]
            health.raise_()  # type: ignore[attr-defined]
            health.activateWindow()  # type: ignore[attr-defined]

    server = InstanceServer(ws.root)
    server.received.connect(take_request)
    if server.start():
        log.info("listening for other launches on %s as %s", ws.root, server.name)
    qt.aboutToQuit.connect(server.stop)

    if is_fatal(findings):
        log.warning("the workspace needs repair: %s", "; ".join(f.code for f in findings))
        health = HealthWindow(ws.root, findings, open_main)
        qt.aboutToQuit.connect(health.jobs.shutdown)
        opened["health"] = health
        health.show()
    else:
        open_main()
    if smoke_seconds is not None:
        log.info("smoke run: quitting after %s s", smoke_seconds)
        QTimer.singleShot(int(smoke_seconds * 1000), qt.quit)
    code = qt.exec()
    log.info("Ratchet app closed (exit code %s)", code)
    return code
