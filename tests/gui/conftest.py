"""GUI tests run on Qt's offscreen platform unless the caller chose one (e.g. xcb on Xvfb).

The environment is set at import time, before pytest-qt creates the QApplication. Every test
gets its own workspace (with the demo model installed, as on first start) and settings folder;
a dialog that would block (a message box, a file dialog) fails the test instead, unless the
test replaced it with an answer.
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Never touch the user's real workspace or settings: the app installs the demo model on first
# start and saves its settings on close.
os.environ.setdefault("RATCHET_HOME", tempfile.mkdtemp(prefix="ratchet-gui-tests-"))
os.environ.setdefault("RATCHET_CONFIG_DIR", tempfile.mkdtemp(prefix="ratchet-gui-config-"))

import pytest
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

import gui.qtcompat  # noqa: F401  (the PySide6 6.12.0 guard, before any widget exists)
from engine.ground.paths import Workspace
from engine.registry.first_start import first_start
from gui import errors
from gui.context import AppContext
from gui.workers import Jobs


def _blocking(what):
    def fail(*args, **kwargs):
        raise AssertionError(f"an unexpected {what} would have blocked the test: {args[1:3]}")
    return fail


@pytest.fixture(scope="session")
def qapp_cls():
    """pytest-qt creates the app's own QApplication subclass (it announces quit requests)."""
    from gui.app import RatchetApplication

    return RatchetApplication


@pytest.fixture(autouse=True)
def no_blocking_dialogs(monkeypatch):
    """Tests answer dialogs explicitly; anything else is a failure, not a hang."""
    for name in ("question", "information", "warning", "critical"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(_blocking(f"QMessageBox.{name}")))
    monkeypatch.setattr(QMessageBox, "exec", lambda self: _blocking("message box")(
        self, self.text(), self.informativeText()))
    for name in ("getOpenFileName", "getSaveFileName"):
        monkeypatch.setattr(QFileDialog, name, staticmethod(_blocking(f"QFileDialog.{name}")))


@pytest.fixture
def shown_errors(monkeypatch):
    """Replaces the error dialog: the exceptions it would have shown, in order."""
    seen: list[BaseException] = []
    monkeypatch.setattr(errors, "show_exception", lambda parent, exc: seen.append(exc))
    return seen


@pytest.fixture
def answers(monkeypatch):
    """Answers QMessageBox.question with Yes (or what the test appends to `replies`) and
    records each question's text."""

    class Answers:
        def __init__(self):
            self.asked: list[str] = []
            self.replies: list[QMessageBox.StandardButton] = []

        def __call__(self, parent, title, text, *rest):
            self.asked.append(text)
            return self.replies.pop(0) if self.replies else QMessageBox.StandardButton.Yes

    a = Answers()
    monkeypatch.setattr(QMessageBox, "question", staticmethod(a))
    return a


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A new workspace with the demo model installed, as on the app's first start."""
    root = tmp_path / "workspace"
    monkeypatch.setenv("RATCHET_HOME", str(root))
    monkeypatch.setenv("RATCHET_CONFIG_DIR", str(tmp_path / "config"))
    first_start(Workspace.open(root))
    return root


@pytest.fixture
def jobs():
    runner = Jobs()
    yield runner
    runner.shutdown()  # a QThread destroyed while running would abort the process


@pytest.fixture
def ctx(workspace, jobs):
    return AppContext(workspace, jobs)


@pytest.fixture
def quits(monkeypatch):
    """Replaces QApplication.quit: the calls it would have had."""
    calls = []
    monkeypatch.setattr(QApplication, "quit", staticmethod(lambda: calls.append("quit")))
    return calls


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where screenshots go: RATCHET_SCREENSHOTS (to look at them), else a temp folder."""
    folder = Path(os.environ.get("RATCHET_SCREENSHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(autouse=True)
def expiry_clock(monkeypatch):
    """Model uses are judged at the test bundles' own time, not the calendar's (see
    tests/engine/conftest.py)."""
    from engine.registry import expiry
    from tests.engine.bundle_kit import NOW

    monkeypatch.setattr(expiry, "now", lambda: NOW)
