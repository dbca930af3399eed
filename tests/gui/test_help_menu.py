"""The Help menu: About names the app's version; the log folder is shown as a path to copy
where no file manager can open it."""

from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMenu, QMessageBox

import engine
from engine.ground.paths import Workspace
from gui.main_window import MainWindow


def test_about_names_the_version(ctx, qtbot, monkeypatch):
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    shown = []
    monkeypatch.setattr(QMessageBox, "about", staticmethod(
        lambda parent, title, text: shown.append(text)))
    window._about()
    assert f"Version {engine.__version__}" in shown[0]
    assert str(ctx.workspace) in shown[0]


def test_without_a_file_manager_the_log_folder_path_is_shown_to_copy(ctx, qtbot, monkeypatch):
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    opened, boxes = [], []
    monkeypatch.setattr(QDesktopServices, "openUrl",
                        staticmethod(lambda url: opened.append(url.toLocalFile()) or False))
    monkeypatch.setattr(QMessageBox, "exec", lambda box: boxes.append(box) or 0)
    window._open_logs()
    folder = str(Workspace(ctx.workspace).logs_dir)
    assert opened == [folder]
    (box,) = boxes
    assert box.informativeText() == folder and box.detailedText() == folder
    assert box.textInteractionFlags() & box.textInteractionFlags().TextSelectableByMouse


def test_with_a_file_manager_nothing_more_is_shown(ctx, qtbot, monkeypatch):
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    opened, boxes = [], []
    monkeypatch.setattr(QDesktopServices, "openUrl",
                        staticmethod(lambda url: opened.append(url) or True))
    monkeypatch.setattr(QMessageBox, "exec", lambda box: boxes.append(box) or 0)
    window._open_logs()
    assert len(opened) == 1 and boxes == []


def test_the_menus_keep_their_shortcuts(ctx, qtbot):
    """Set with setShortcuts (setShortcut's overloads would build Qt's enums before the first
    frame): Ctrl+1..9 choose the pages, and Open and Quit take the platform's standard keys."""
    from PySide6.QtGui import QKeySequence

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    actions = {a.text(): a for menu in window.menuBar().findChildren(QMenu)
               for a in menu.actions()}
    view = next(a for a in window.menuBar().actions() if a.text() == "&View").menu()
    assert [a.shortcut().toString() for a in view.actions()] == \
        [f"Ctrl+{n}" for n in range(1, len(view.actions()) + 1)]
    assert actions["&Open CSV file…"].shortcuts() == \
        QKeySequence.keyBindings(QKeySequence.StandardKey.Open)
    assert actions["&Quit"].shortcuts() == QKeySequence.keyBindings(QKeySequence.StandardKey.Quit)
