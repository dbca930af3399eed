"""The desktop app starts: in-process with pytest-qt, and as a real process via the launcher."""

import os
import subprocess
import sys
from pathlib import Path

from gui.main_window import NO_MODEL_MESSAGE, MainWindow

ROOT = Path(__file__).resolve().parents[2]


def test_main_window_shows_title_and_no_model_status(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.isVisible()
    assert window.windowTitle() == "Ratchet"
    assert window.model_status.text() == NO_MODEL_MESSAGE


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
