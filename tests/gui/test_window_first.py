"""The app's window comes first (issue 16): it is shown with a placeholder in each page before
the workspace is opened; a worker imports the pages, checks the workspace and installs the demo
model on first start; then the pages are built, and what was asked meanwhile (a file handed
over, a menu action) is done."""

import os
import subprocess
import sys
from pathlib import Path

from gui.app import build_app, load_workspace
from gui.main_window import PAGES
from tests.engine.workspace_kit import DEMO_LABEL, SAMPLE
from tests.gui.kit import TIMEOUT_MS

ROOT = Path(__file__).resolve().parents[2]


def test_the_window_is_usable_before_the_workspace_is_opened(tmp_path, qtbot, monkeypatch):
    root = tmp_path / "fresh"
    monkeypatch.setenv("RATCHET_CONFIG_DIR", str(tmp_path / "config"))
    app = build_app(root, use_tray=False, hooks=False, deferred=True)
    window = app.window
    qtbot.addWidget(window)
    window.show()
    assert not window.ready and not (root / "ratchet.db").exists()
    assert window.model_status.text() == "Opening the workspace…"
    assert window.stack.count() == len(PAGES)
    assert "Opening the workspace…" in window.stack.currentWidget().text()
    window.show_page("models")  # the sidebar works meanwhile
    assert window.current_page() == "models"
    window.open_request({"predict": str(SAMPLE)})  # a file handed over: it waits
    assert window.current_page() == "predict" and not hasattr(window, "predict")

    status, findings = load_workspace(root, progress=lambda *_: None, cancel=None)
    assert findings == [] and status == f"Model: {DEMO_LABEL}"
    window.model_status.setText(status)
    window.build_pages()
    assert window.ready and window.current_page() == "predict"
    assert window.predict.source == SAMPLE  # the file asked for before the pages existed
    qtbot.waitUntil(lambda: window.predict.state == "ready", timeout=TIMEOUT_MS)
    assert DEMO_LABEL in window.predict.summary.text()  # chosen by the file's columns
    app.window.shutdown()


def test_the_real_app_shows_its_window_before_it_installs_the_demo_model(tmp_path):
    workspace = tmp_path / "first-start"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "RATCHET_CONFIG_DIR": str(tmp_path / "config")}
    done = subprocess.run([sys.executable, "-m", "gui.launcher", "--workspace", str(workspace),
                           "gui", "--smoke", "0"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    lines = (workspace / "logs" / "ratchet-gui.log").read_text().splitlines()

    def first(text: str) -> int:
        return next(i for i, line in enumerate(lines) if text in line)

    shown = first("window shown")
    installed = first(f"installed and activated {DEMO_LABEL}")
    ready = first("workspace ready")
    assert shown < installed < ready < first("smoke run: quitting")
    assert "Traceback" not in done.stderr


def test_the_benchmarks_probe_ends_the_app_once_its_window_is_shown(tmp_path):
    """bench/startup.py times the window with RATCHET_SMOKE_AT=shown: the process ends right
    after the window's first paint, before the log and the workspace are opened (it says so
    on stderr)."""
    workspace = tmp_path / "probe"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "RATCHET_SMOKE_AT": "shown",
           "RATCHET_CONFIG_DIR": str(tmp_path / "config")}
    done = subprocess.run([sys.executable, "-m", "gui.launcher", "--workspace", str(workspace),
                           "gui", "--smoke", "0"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert "window shown" in done.stderr
    assert not (workspace / "logs" / "ratchet-gui.log").exists()
    assert not (workspace / "ratchet.db").exists()
