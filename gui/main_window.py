"""The main window: a sidebar of pages, the menus, and a status bar: per model what is active.

Closing it hides it to the tray when there is one (File > Quit and the tray's Quit really
quit); without a tray, closing quits. Either way, before the app ends every background job is
cancelled and its thread joined (:meth:`shutdown`), and the settings are saved.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

import engine
from engine.ground.paths import Workspace
from gui.colors import MUTED_STYLE, RED
from gui.context import AppContext
from gui.pages.monitor_status import OneLineLabel
from gui.tray import Tray

# The pages are imported when they are built (see build_pages); what serves them (the folder
# watch, the alarm notices, the dialogs, saving the settings) when it is first used, so that
# the window is shown without it (issue 16).
if TYPE_CHECKING:
    from PySide6.QtGui import QAction, QCloseEvent
    from PySide6.QtWidgets import QMessageBox

    from gui.pages.backtest import BacktestPage
    from gui.pages.models import ModelsPage
    from gui.pages.monitor import MonitorPage
    from gui.pages.overview import OverviewPage
    from gui.pages.predict import PredictPage
    from gui.pages.regression import RegressionPage
    from gui.pages.requirements import RequirementsPage
    from gui.pages.settings_page import SettingsPage
    from gui.pages.trial.page import TrialPage
    from gui.watching import FolderWatch

log = logging.getLogger(__name__)

STARTING_MESSAGE = "Opening the workspace…"


@dataclass(frozen=True, slots=True)
class Page:
    name: str  # show_page(name); the settings remember the page shown last by it
    menu: str  # its View menu entry (Ctrl+its number); the sidebar shows it without the "&"
    attribute: str  # the window's attribute holding it
    build: str  # "module:Class", imported when the pages are built


def page_class(page: Page) -> type:
    module, name = page.build.split(":")
    return getattr(importlib.import_module(module), name)


# The page list, written once: the sidebar, the stack, the View menu and the names follow it.
PAGES = (
    Page("overview", "O&verview", "overview", "gui.pages.overview:OverviewPage"),
    Page("predict", "&Predict", "predict", "gui.pages.predict:PredictPage"),
    Page("models", "&Models", "models", "gui.pages.models:ModelsPage"),
    Page("regression", "&Regression", "regression", "gui.pages.regression:RegressionPage"),
    Page("backtest", "&Back-test", "backtest", "gui.pages.backtest:BacktestPage"),
    Page("monitor", "M&onitor", "monitor", "gui.pages.monitor:MonitorPage"),
    Page("trial", "&Trial", "trial", "gui.pages.trial.page:TrialPage"),
    Page("requirements", "Re&quirements", "requirements",
         "gui.pages.requirements:RequirementsPage"),
    Page("settings", "&Settings", "settings_page", "gui.pages.settings_page:SettingsPage"),
)
PAGE_NAMES = tuple(page.name for page in PAGES)
# Every module the pages need, for a worker thread to import before the pages are built (the
# window is up meanwhile): the engine behind them takes seconds to import, a page a moment.
PAGE_MODULES = (*(page.build.split(":")[0] for page in PAGES),
                "gui.health", "gui.tasks.models", "gui.pages.models_tables")
# The jobs (by name) that quitting would cancel, said in the question before quitting.
WORK_ON_QUIT = {
    "score csv": "a prediction (nothing will be written)",
    "now-test": "a now-test (nothing will be recorded)",
    "back-test": "a back-test",
    "gate": "a gate",
    "trial start": "the start of a trial",
    "regression suite": "a regression run",
}
# Nothing the window shows first names Qt's namespace (`Qt.AlignCenter`...): its first use
# builds its ~100 enums, about 15 ms, a tenth of a bare window's start (issue 16). The first
# frame's alignments and policies are set as style-sheet properties instead.
SIDEBAR_STYLE = """
QListWidget { qproperty-horizontalScrollBarPolicy: ScrollBarAlwaysOff; }
QListWidget { border: none; background: palette(window); font-size: 11pt; }
QListWidget::item { padding: 10px 14px; border-radius: 4px; margin: 2px 6px; }
QListWidget::item:selected { background: palette(highlight); color: palette(highlighted-text); }
"""


def loading_placeholder(page: Page) -> QWidget:
    """What a page shows while the app is still opening the workspace."""
    label = QLabel(f"{page.menu.replace('&', '')}\n\nOpening the workspace…")
    label.setStyleSheet(f"QLabel {{ {MUTED_STYLE} qproperty-alignment: AlignCenter; }}")
    return label


class MainWindow(QMainWindow):
    overview: OverviewPage
    predict: PredictPage
    models: ModelsPage
    regression: RegressionPage
    backtest: BacktestPage
    monitor: MonitorPage
    trial: TrialPage
    requirements: RequirementsPage
    settings_page: SettingsPage

    def __init__(self, ctx: AppContext, tray: Tray | None = None, status: str | None = None,
                 deferred: bool = False):
        """``deferred``: the window is shown before its pages exist (the app's start, see
        gui/app.py): each page is a "Loading…" placeholder until :meth:`build_pages`, which
        the app calls once a worker has imported them and opened the workspace. Requests
        that arrive meanwhile (a file handed over, a menu action) wait for it."""
        super().__init__()
        self.ctx = ctx
        self.tray = tray
        self._quitting = False
        self._shut_down = False
        self.ready = False
        self._waiting: list = []  # what was asked before the pages existed
        self.watch: FolderWatch | None = None
        self.setWindowTitle("Ratchet")
        self.resize(1180, 780)

        self.stack = QStackedWidget()
        self.sidebar = QListWidget()
        self.sidebar.setStyleSheet(SIDEBAR_STYLE)
        self.sidebar.setFixedWidth(172)
        for page in PAGES:
            self.sidebar.addItem(page.menu.replace("&", ""))
            self.stack.addWidget(loading_placeholder(page))
        self.sidebar.currentRowChanged.connect(self.stack.setCurrentIndex)
        central = QWidget()
        self.column = QVBoxLayout(central)
        self.column.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.setContentsMargins(0, 6, 6, 0)
        row.addWidget(self.sidebar)
        row.addWidget(self.stack, 1)
        self.column.addLayout(row, 1)
        self.setCentralWidget(central)

        self._build_menus()
        # A permanent widget, not showMessage(): menu hover tips would wipe a temporary message.
        self.model_status = OneLineLabel()
        self.model_status.setText(status or STARTING_MESSAGE)
        self.statusBar().addWidget(self.model_status, 1)
        self.alarm_status = QLabel()
        self.alarm_status.linkActivated.connect(lambda _link: self.show_page("monitor"))
        self.alarm_status.hide()
        self.statusBar().addPermanentWidget(self.alarm_status)
        self.workspace_status = QLabel(f"Workspace: {ctx.workspace}")
        self.workspace_status.setStyleSheet(MUTED_STYLE)
        self.statusBar().addPermanentWidget(self.workspace_status)
        if tray is not None:
            tray.show_requested.connect(self.bring_to_front)
            tray.quit_requested.connect(self.request_quit)
            tray.alarm_clicked.connect(self.open_monitor)
        self._restore_settings()
        if not deferred:
            self.build_pages()

    def build_pages(self) -> None:
        """Put the pages in place of their placeholders, wire them, and let each read what it
        shows (in background jobs); then act on what was asked meanwhile."""
        if self.ready:
            return
        from gui.health import HealthBanner

        shown = self.current_page()
        self.health = HealthBanner(self.ctx)
        self.column.insertWidget(0, self.health)
        for index, page in enumerate(PAGES):
            widget = page_class(page)(self.ctx)
            setattr(self, page.attribute, widget)
            placeholder = self.stack.widget(index)
            self.stack.insertWidget(index, widget)
            self.stack.removeWidget(placeholder)
            placeholder.deleteLater()
        self.stack.setCurrentIndex(PAGE_NAMES.index(shown))
        self.models.snapshot_loaded.connect(self._show_active_model)
        self.predict.state_changed.connect(self._predict_state)
        self._wire_monitoring()
        self.ready = True
        self.models.refresh()
        self.monitor.refresh()
        self.settings_page.refresh()
        if self.overview.isVisible():
            self.overview.refresh()
        waiting, self._waiting = self._waiting, []
        for action in waiting:
            action()

    def when_ready(self, action) -> None:
        """Run ``action`` now, or once the pages exist."""
        if self.ready:
            action()
        else:
            self._waiting.append(action)

    def _wire_monitoring(self) -> None:
        """The folder watcher (started by the app, see gui/app.py) feeds the Monitor page;
        new alarms, from it or from a now-test run on the page, make one notice per burst."""
        from gui.alarm_notices import AlarmNotifier
        from gui.watching import FolderWatch

        self.watch = FolderWatch(self.ctx.workspace, parent=self)
        self.alarm_notices = AlarmNotifier(self)
        self.watch.status_changed.connect(self.monitor.show_watch_status)
        self.watch.event.connect(self.monitor.watcher_event)
        self.watch.alarms_raised.connect(self.alarm_notices.add)
        self.monitor.alarms_raised.connect(self.alarm_notices.add)
        self.alarm_notices.notice.connect(self._alarm_notice)
        self.monitor.open_alarms_changed.connect(self._open_alarms)
        self.settings_page.saved.connect(self._settings_saved)
        self.trial.models_changed.connect(self.models.refresh)
        self.overview.open_page.connect(self.show_page)
        for changed in (self.models.changed, self.monitor.open_alarms_changed,
                        self.regression.run_finished):
            changed.connect(self._refresh_overview)

    def _refresh_overview(self, *_args) -> None:
        if self.overview.isVisible():  # else it is read again when shown
            self.overview.refresh()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Open CSV file…", self._open_csv, QKeySequence.StandardKey.Open)
        self._action(file_menu, "Use &sample data", self._use_sample)
        self._action(file_menu, "&Import model bundle…", self._import_bundle)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.request_quit, QKeySequence.StandardKey.Quit)
        view = self.menuBar().addMenu("&View")
        for number, page in enumerate(PAGES, 1):
            self._action(view, page.menu, lambda name=page.name: self.show_page(name),
                         f"Ctrl+{number}")
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "Open the &log folder", self._open_logs)
        self._action(help_menu, "&About Ratchet", self._about)

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:
        action = menu.addAction(text)
        action.triggered.connect(lambda _checked=False: slot())
        if shortcut is not None:  # setShortcuts: setShortcut's overloads name Qt's namespace
            action.setShortcuts(shortcut if isinstance(shortcut, QKeySequence.StandardKey)
                                else [QKeySequence(shortcut)])
        return action

    # -- pages and state -------------------------------------------------------------------
    def show_page(self, name: str) -> None:
        self.sidebar.setCurrentRow(PAGE_NAMES.index(name) if name in PAGE_NAMES else 0)

    def current_page(self) -> str:
        return PAGE_NAMES[max(0, self.sidebar.currentRow())]

    def _open_csv(self) -> None:
        self.show_page("predict")
        self.when_ready(lambda: self.predict.choose_file())

    def _use_sample(self) -> None:
        self.show_page("predict")
        self.when_ready(lambda: self.predict.use_sample())

    def _import_bundle(self) -> None:
        self.show_page("models")
        self.when_ready(lambda: self.models.choose_bundle())

    def import_bundle_file(self, path) -> None:
        """A bundle opened from outside (`ratchet FILE.ratchet`, a double-click): the Models
        page verifies it, then asks before installing."""
        self.show_page("models")
        self.when_ready(lambda: self.models.import_bundle_file(path))

    def open_request(self, request: dict) -> None:
        """A file handed over by a launch (this app's own, or a later one on the same
        workspace, see gui/single_instance.py): the window comes to the front and acts on it."""
        self.bring_to_front()
        if "import" in request:
            self.import_bundle_file(Path(request["import"]))
        elif "predict" in request:
            self.show_page("predict")
            self.when_ready(lambda: self.predict.open_csv(Path(request["predict"])))

    def _show_active_model(self, snap) -> None:
        self.predict.picker.set_snapshot(snap)
        for page in (self.regression, self.requirements):
            page.picker.set_snapshot(snap)  # a new choice refreshes the page
        self.backtest.set_snapshot(snap)  # its champion and the challengers to choose from
        self.monitor.set_snapshot(snap)  # its model choice
        self._update_status(snap)

    def _update_status(self, snap) -> None:
        """Per model what is active ("demo-flight-delay@1 · test-sensors@1 · test-small
        deactivated"): one line, elided, the whole of it and each expiry in the tooltip.
        Called whenever the Models page reads the registry again (after an import,
        activation, deactivation or rollback)."""
        from gui.pages.models_tables import expiry
        from gui.tasks.models import status_line

        states = snap.model_states()
        text = status_line(states)
        if not states:
            text += " Import a bundle on the Models page."
        self.model_status.setText(text)
        expiries = [f"{v.model_id}@{v.version} expires {expiry(v.expires)[0]}"
                    for v in snap.versions if v.active]
        self.model_status.setToolTip("\n".join([text, *expiries]))
        if self.tray is not None:
            self.tray.set_state(text)

    def _predict_state(self, state: str) -> None:
        if self.tray is not None and state == "running":  # gui.pages.predict.State.RUNNING
            self.tray.set_state(f"Scoring {self.predict.source.name}… "
                                f"({self.model_status.text()})")
        elif self.tray is not None:
            self.tray.set_state(self.model_status.text())

    def _alarm_notice(self, title: str, message: str, _alarms) -> None:
        if self.tray is not None:
            self.tray.alarm(title, message)
        self.monitor.refresh()  # and with it the status bar's "N open alarms"

    def _open_alarms(self, count: int) -> None:
        self.alarm_status.setText(
            f"<a href='monitor' style='color:{RED.name()}; font-weight:600'>{count} open alarm"
            f"{'' if count == 1 else 's'}</a>")
        self.alarm_status.setVisible(count > 0)

    def _settings_saved(self, keys: set[str]) -> None:
        if any(key.startswith("watch.") for key in keys):
            self.watch.restart()

    def open_monitor(self) -> None:
        """An alarm balloon was clicked."""
        self.bring_to_front()
        self.show_page("monitor")

    def bring_to_front(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    # -- closing ---------------------------------------------------------------------------
    def _may_stop_work(self) -> bool:
        """Ask before quitting cancels work in progress, naming it; quick reads are not asked
        about."""
        running = [WORK_ON_QUIT[job.name] for job in self.ctx.jobs.running()
                   if job.name in WORK_ON_QUIT]
        if not running:
            return True
        from gui import dialogs

        what = list(dict.fromkeys(running))
        listed = what[0] if len(what) == 1 else ", ".join(what[:-1]) + " and " + what[-1]
        pronoun = "It" if len(running) == 1 else "They"
        return dialogs.confirm(self, "Stop the running work?",
                               f"Still running: {listed}. Quit anyway? {pronoun} will be "
                               "cancelled.")

    def request_quit(self) -> None:
        """File > Quit and the tray's Quit: really quit."""
        if not self._may_stop_work():
            return
        self.prepare_quit()
        self.shutdown()
        QApplication.quit()

    def prepare_quit(self) -> None:
        """The app is quitting: the next close event closes instead of hiding to the tray."""
        self._quitting = True

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.tray is not None and not self._quitting:
            event.ignore()
            self.hide()
            if not self.ctx.settings.tray_notice_shown:
                self.tray.notify("Ratchet is still running",
                                 "Ratchet keeps running in the tray. Use Quit from its menu "
                                 "to close it.")
                self.ctx.settings.tray_notice_shown = True
            return
        if not self._quitting and not self._may_stop_work():
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Cancel and join every background job, save the settings (idempotent)."""
        if self._shut_down:
            return
        self._shut_down = True
        # The watcher's now-test in progress is cancelled and the thread joined, a few seconds
        # at most: one stuck e-mailing an alarm (a silent SMTP server) is left behind -- a
        # daemon thread, it ends with the app, and its unsettled claim is taken up at the next
        # start (a now-test already recorded stands; see FolderWatch.stop).
        if self.watch is not None and not self.watch.stop():
            log.warning("quitting with the folder watcher still busy; it ends with the app")
        self.ctx.jobs.shutdown()
        self.ctx.settings.window_geometry = bytes(self.saveGeometry().toBase64()).decode()
        self.ctx.settings.page = self.current_page()
        from gui.settings import save_settings

        save_settings(self.ctx.settings)
        if self.tray is not None:
            self.tray.hide()

    def _restore_settings(self) -> None:
        if self.ctx.settings.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(
                self.ctx.settings.window_geometry.encode()))
        self.show_page("overview")  # the app opens on "is everything all right?"

    # -- help ------------------------------------------------------------------------------
    def _open_logs(self) -> None:
        """The log folder in the file manager; where there is none, its path to copy."""
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        folder = Workspace(self.ctx.workspace).logs_dir
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            log.info("no file manager opened %s; showing its path", folder)
            self.log_folder_box(folder).exec()

    def log_folder_box(self, folder) -> QMessageBox:
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(QMessageBox.Icon.Information, "The log folder",
                          "No file manager could open the log folder. It is:", parent=self)
        box.setInformativeText(str(folder))
        from PySide6.QtCore import Qt

        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.setDetailedText(str(folder))  # selectable text, to copy into a terminal
        return box

    def about_text(self) -> str:
        return ("Ratchet puts small predictive models into production on a few workstations "
                f"and keeps them honest there.\n\nVersion {engine.__version__}\n"
                f"Workspace: {self.ctx.workspace}")

    def _about(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.about(self, "About Ratchet", self.about_text())
