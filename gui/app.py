"""Builds and runs the desktop application: logging, excepthooks, settings, tray, main window.

The window comes first: it is shown with a placeholder in each page, and a worker then imports
the pages (and the engine behind them), checks the workspace and installs the demo model on
first start (gui/tasks/startup.py); the pages are built when it is done. A workspace that
cannot be used opens on the health window instead, and the app once it is repaired.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, QTimer, Signal
from PySide6.QtWidgets import QApplication

from engine.ground.paths import Workspace, default_workspace
from gui import qtcompat
from gui.context import AppContext
from gui.icons import app_icon
from gui.main_window import PAGE_MODULES, MainWindow
from gui.settings import load_settings
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
    relay: object | None  # gui.excepthooks.ExceptionRelay, while hooks are installed


def build_app(workspace: Path, status: str | None = None, use_tray: bool | None = None,
              hooks: bool = True, deferred: bool = False) -> App:
    """The application's objects, the window not yet shown.

    ``use_tray`` None: a tray icon when the desktop has a system tray. ``hooks`` False leaves
    sys/threading excepthooks alone (the tests' own hooks must keep catching errors).
    ``deferred``: the window's pages are built later (MainWindow.build_pages).
    """
    qt = QApplication.instance() or RatchetApplication(["ratchet"])
    qt.setApplicationName("Ratchet")
    qt.setOrganizationName("Ratchet")
    qt.setWindowIcon(app_icon())
    ctx = AppContext(Path(workspace), Jobs(), load_settings())
    tray = None
    if use_tray or (use_tray is None and Tray.available()):
        tray = Tray(app_icon())
    window = MainWindow(ctx, tray=tray, status=status, deferred=deferred)
    relay = _install_hooks(window) if hooks else None
    # With a tray, closing the window hides it; the app ends by File > Quit or the tray.
    qt.setQuitOnLastWindowClosed(tray is None)
    if isinstance(qt, RatchetApplication):
        qt.quit_requested.connect(window.prepare_quit)
    qt.aboutToQuit.connect(window.shutdown)
    return App(qt, window, tray, relay)


def _install_hooks(window: MainWindow):
    """Uncaught exceptions to the error dialog (gui.excepthooks). Its module names Qt's
    namespace (a queued connection), whose first use builds its ~100 enums (~15 ms): the app
    installs it just after the window's first paint (issue 16)."""
    from gui.excepthooks import install_excepthooks

    return install_excepthooks(lambda: window if window.isVisible() else None)


def load_workspace(root: Path, *, progress, cancel) -> tuple[str, list]:
    """In a worker, with the window up: import what the pages need (the engine behind them
    takes seconds; importing here keeps the window responsive), then open the workspace.
    Returns (status line, findings)."""
    for name in PAGE_MODULES:
        importlib.import_module(name)
    from gui.tasks.startup import prepare_workspace

    return prepare_workspace(root)


def run_app(argv: list[str], smoke_seconds: float | None = None,
            workspace: Path | str | None = None, bundle: Path | None = None,
            csv: Path | None = None) -> int:
    """Show the main window and run the event loop; return the process exit code.

    With ``smoke_seconds`` the app quits by itself that long after its window is ready,
    exit code 0. With ``bundle`` (a double-clicked .ratchet file) the Models page verifies it
    and asks first; with ``csv`` the Predict page opens on it. Later launches on the same
    workspace hand their file to this app (gui/single_instance.py).
    """
    started = time.perf_counter()
    qt = QApplication.instance() or RatchetApplication(argv)
    # Only the folders before the window: the worker opens the workspace (Workspace.open
    # writes a new one's trust store, fsync'd) while the window is up (issue 16).
    ws = Workspace(Path(workspace) if workspace is not None else default_workspace())
    try:
        ws.logs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.critical(None, "Ratchet", f"The workspace cannot be opened: {exc}")
        return 2
    app = build_app(ws.root, deferred=True, hooks=False)  # the hooks after the first paint
    window = app.window
    held: dict[str, object] = {}  # the health window, while the workspace waits for repair
    if bundle is not None:
        window.open_request({"import": str(bundle)})  # acted on once the pages exist
    elif csv is not None:
        window.open_request({"predict": str(csv)})
    window.show()
    shown = time.perf_counter() - started
    qt.processEvents()  # the first paint, where the window is exposed by now (issue 16)
    if os.environ.get("RATCHET_SMOKE_AT") == "shown":  # bench/startup.py: time to the window
        print(f"ratchet: window shown {shown:.2f} s after the app started", file=sys.stderr,
              flush=True)
        os._exit(0)  # before the log and the workspace are opened: nothing is being written
    app.relay = _install_hooks(window)
    from gui import logs  # logging.handlers (socket, pickle, ...) costs a moment

    path = logs.setup_logging(ws.logs_dir)
    log.info("Ratchet app starting; workspace %s, log %s", ws.root, path)
    if qtcompat.IMMORTALIZED:
        log.info("PySide6 %s leaks references on this Python; guarded (see gui/qtcompat.py)",
                 qtcompat.PYSIDE_VERSION)
    log.info("window shown %.2f s after the app started", shown)
    if app.tray is not None:
        app.tray.show()

    def smoke_quit() -> None:
        if smoke_seconds is not None:
            log.info("smoke run: quitting after %s s", smoke_seconds)
            QTimer.singleShot(int(smoke_seconds * 1000), qt.quit)

    def loaded(outcome: tuple[str, list]) -> None:
        from engine.doctor.checks import FATAL
        from gui.health import HealthWindow, is_fatal

        status, findings = outcome
        if is_fatal(findings):
            log.warning("the workspace needs repair: %s", "; ".join(f.code for f in findings))
            window.model_status.setText(status)
            window.hide()
            health = HealthWindow(ws.root, findings, reopen)
            qt.aboutToQuit.connect(health.jobs.shutdown)
            held["health"] = health
            health.show()
            smoke_quit()
            return
        window.model_status.setText(status)
        window.build_pages()
        window.health.show_findings([f for f in findings if f.code not in FATAL])
        window.watch.start()  # the watch folders of the settings, if any are set
        log.info("workspace ready %.2f s after the app started", time.perf_counter() - started)
        smoke_quit()

    def reopen() -> None:
        """The health window repaired the workspace: open it again, then the app."""
        health = held.pop("health", None)
        if health is not None:
            health.close()  # type: ignore[attr-defined]
        window.show()
        start_loading()

    def failed(exc: BaseException) -> None:
        log.error("the workspace could not be opened", exc_info=exc)
        window.model_status.setText(f"The workspace cannot be opened: {exc}")
        smoke_quit()

    def start_loading() -> None:
        app.window.ctx.run("open workspace", load_workspace, ws.root, on_finished=loaded,
                           on_failed=failed)

    def take_request(request: dict) -> None:
        log.info("request from another launch: %s", request)
        health = held.get("health")
        if health is not None:  # still waiting for the repair: the file waits too
            window.when_ready(lambda: window.open_request(request))
            health.showNormal()  # type: ignore[attr-defined]
            health.raise_()  # type: ignore[attr-defined]
            health.activateWindow()  # type: ignore[attr-defined]
        else:
            window.open_request(request)

    # Listening for later launches (QtNetwork) waits for the first paint too. Two launches at
    # once were already racing from the launcher's hand-over on; the loser takes no requests.
    from gui.single_instance import InstanceServer

    server = InstanceServer(ws.root)
    server.received.connect(take_request)
    if server.start():
        log.info("listening for other launches on %s as %s", ws.root, server.name)
    qt.aboutToQuit.connect(server.stop)
    start_loading()
    code = qt.exec()
    log.info("Ratchet app closed (exit code %s)", code)
    return code
