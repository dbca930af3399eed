"""The app checks the workspace at start: a workspace it cannot use opens on the health window
(words and Repair, never a traceback); lesser problems show a banner with the same panel."""

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from engine.registry.registry import Registry
from gui.health import HealthWindow, check_workspace, is_fatal
from gui.main_window import MainWindow
from gui.tasks.startup import prepare_workspace as _prepare_workspace
from tests.engine.workspace_kit import DEMO_BUNDLE, DEMO_ID, DEMO_VERSION, garble_a_page
from tests.gui.kit import TIMEOUT_MS

ROOT = Path(__file__).resolve().parents[2]
DEMO = DEMO_BUNDLE
BUNDLE = f"models/{DEMO_ID}/{DEMO_BUNDLE.name}"


def test_a_garbled_database_opens_on_the_health_window_and_repair_opens_the_app(
        workspace, qtbot):
    garble_a_page(workspace, "activations")
    status, findings = _prepare_workspace(workspace)
    assert is_fatal(findings) and status == "The workspace needs repair."
    opened = []
    window = HealthWindow(workspace, findings, lambda: opened.append(True))
    qtbot.addWidget(window)
    window.show()
    assert "has 1 problem" in window.panel.title.text()
    assert "is damaged" in window.panel.list.text()
    with qtbot.waitSignal(window.panel.repaired, timeout=TIMEOUT_MS):
        window.panel.repair_button.click()
    assert opened == [True]
    assert any(p.name.startswith("ratchet.db.damaged-") for p in workspace.iterdir())
    assert check_workspace(workspace) == []
    with Registry.open(workspace) as reg:
        assert reg.active_version(DEMO_ID) == DEMO_VERSION


def test_the_real_app_starts_on_a_garbled_database_without_a_traceback(workspace):
    garble_a_page(workspace, "installed")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-m", "gui.launcher", "--workspace", str(workspace),
                           "gui", "--smoke", "1"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "DatabaseError" not in done.stderr
    log = (workspace / "logs" / "ratchet-gui.log").read_text()
    assert "the workspace needs repair: E_WORKSPACE_DB_DAMAGED" in log


def test_a_damaged_bundle_shows_a_banner_whose_panel_repairs_it(ctx, qtbot, monkeypatch,
                                                                shown_errors):
    (ctx.workspace / BUNDLE).write_bytes(b"damaged")
    findings = check_workspace(ctx.workspace)
    assert [f.code for f in findings] == ["E_INSTALLED_TAMPERED"] and not is_fatal(findings)
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    window.health.show_findings(findings)
    assert window.health.isVisible()
    assert "was changed on disk" in window.health.text.text()
    window.health.open_panel()
    panel = window.health.dialog.findChild(type(window.health.dialog.layout().itemAt(0)
                                                .widget()))
    assert panel.choose.isVisible()
    monkeypatch.setattr(QFileDialog, "getOpenFileNames",
                        staticmethod(lambda *a, **k: ([str(DEMO)], "")))
    panel.choose.click()
    with qtbot.waitSignal(panel.repaired, timeout=TIMEOUT_MS):
        panel.repair_button.click()
    assert (ctx.workspace / BUNDLE).read_bytes() == DEMO.read_bytes()
    assert not window.health.isVisible()
    assert "healthy" in panel.title.text()
    window.health.dialog.close()
