"""The desktop app starts: in-process with pytest-qt, and as a real process via the launcher."""

import os
import subprocess
import sys
from pathlib import Path

from gui.context import AppContext
from gui.main_window import MainWindow
from gui.tasks.models import NO_MODEL as NO_MODEL_MESSAGE
from gui.workers import Jobs
from tests.engine.workspace_kit import DEMO_ID, DEMO_LABEL
from tests.gui.kit import TIMEOUT_MS

ROOT = Path(__file__).resolve().parents[2]


def test_main_window_shows_title_pages_and_the_active_model(ctx, qtbot):
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.windowTitle() == "Ratchet"
    assert [window.sidebar.item(i).text() for i in range(window.sidebar.count())] == \
        ["Overview", "Predict", "Models", "Regression", "Back-test", "Monitor", "Trial",
         "Requirements", "Settings"]
    assert window.current_page() == "overview"  # the app opens on "is everything all right?"
    qtbot.waitUntil(lambda: window.model_status.text() == f"Model: {DEMO_LABEL}",
                    timeout=TIMEOUT_MS)
    assert window.predict.picker.models() == [DEMO_ID]  # the file's columns choose it


def test_main_window_without_a_model_says_so(tmp_path, qtbot):
    ctx = AppContext(tmp_path / "empty-workspace", Jobs())
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.models.snapshot_loaded, timeout=TIMEOUT_MS):
        window.show()
    assert window.model_status.text().startswith(NO_MODEL_MESSAGE)
    assert "No model is installed" in window.models.message.text()
    ctx.jobs.shutdown()


def _run(args: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        args,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_launcher_module_smoke_exits_zero():
    result = _run([sys.executable, "-m", "gui.launcher", "gui", "--smoke", "1"])
    assert result.returncode == 0, result.stderr


def test_console_script_smoke_with_global_options_exits_zero(tmp_path):
    script = Path(sys.executable).parent / "ratchet"
    assert script.exists(), f"console script missing: {script} (pip install --no-deps -e .)"
    result = _run([str(script), "--workspace", str(tmp_path), "--json", "gui", "--smoke", "0.5"])
    assert result.returncode == 0, result.stderr
