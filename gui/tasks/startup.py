"""Opening the workspace when the app starts, in a worker while the window is already up: the
quick checks of `ratchet doctor`, the shipped demo model on first start, and the first status
line (per model what is active)."""

from __future__ import annotations

from pathlib import Path


def prepare_workspace(root: Path) -> tuple[str, list]:
    """(status line, findings). Findings with a FATAL code mean the app must open on the
    health window instead (nothing else is done then)."""
    from engine.doctor.checks import FATAL, run_checks
    from engine.errors import EngineError
    from engine.ground.paths import Workspace
    from engine.registry.first_start import first_start
    from engine.registry.registry import Registry
    from gui.tasks.models import status_line, workspace_states

    findings: list = []
    try:
        ws = Workspace.open(root)
        findings = run_checks(ws, quick=True)
        if any(f.code in FATAL for f in findings):
            return "The workspace needs repair.", findings
        first_start(ws)
        registry = Registry(ws)
        try:
            states = workspace_states(registry)
        finally:
            registry.close()
    except EngineError as exc:
        return f"No model is active: {exc.message}", findings
    except Exception as exc:  # the window says it; the log has the traceback
        return f"The workspace cannot be opened: {exc}", findings
    return status_line(states), findings
