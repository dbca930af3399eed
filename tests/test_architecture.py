"""The architecture rules hold: engine never loads Qt or gui, import-linter and ruff are clean.

These run inside pytest (not only in `make lint`) so that a plain `pytest` run enforces them.
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the venv's bin dir, where ruff and lint-imports live

# Imports engine and every module under it (walk_packages imports subpackages as it goes; the
# onerror hook turns a broken subpackage into a failure instead of a silent skip).
PROBE = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys
    import engine

    def fail(name):
        raise ImportError(f"cannot import {name}")

    names = ["engine"]
    for info in pkgutil.walk_packages(engine.__path__, "engine.", onerror=fail):
        importlib.import_module(info.name)
        names.append(info.name)
    forbidden = sorted(
        m for m in sys.modules if m.split(".")[0] in {"PySide6", "shiboken6", "gui"}
    )
    print(json.dumps({"imported": names, "forbidden": forbidden}))
    """
)


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_engine_imports_no_qt_and_no_gui():
    result = _run([sys.executable, "-c", PROBE])
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(report["imported"]) > 1, report
    assert report["forbidden"] == [], f"engine pulled in {report['forbidden']}"


def test_import_linter_contracts_hold():
    result = _run([str(BIN / "lint-imports")])
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_layers_and_acyclic_contracts_are_declared():
    """The engine's layers and the no-cycles rule are contracts of the build (pyproject.toml):
    taking one out must be a visible change, not a silent one."""
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"]
    kinds = {c["type"]: c for c in contracts}
    assert {"forbidden", "layers", "acyclic_siblings"} <= set(kinds)
    layers = kinds["layers"]["layers"]
    assert layers[0] == "engine.cli" and layers[-1] == "engine.errors"
    assert "engine.ground" in layers and "engine.trial" in layers
    assert any(c["source_modules"] == ["gui.tasks"] and "PySide6" in c["forbidden_modules"]
               for c in contracts if c["type"] == "forbidden")


def test_ruff_is_clean():
    result = _run([str(BIN / "ruff"), "check", "."])
    assert result.returncode == 0, result.stdout + result.stderr


NO_QT_RUN = textwrap.dedent(
    """
    import sys
    for name in ("PySide6", "shiboken6"):
        sys.modules[name] = None  # any import of Qt now fails
    import pytest
    sys.exit(pytest.main(["tests/engine", "-q", "-p", "no:pytest-qt", "-p", "no:cacheprovider",
                          "-x", "-k", sys.argv[1]]))
    """
)


def test_engine_tests_run_without_qt():
    """tests/engine must pass on a machine without Qt: run a broad slice with Qt unimportable
    (the parity and bundle suites touch every engine package)."""
    result = _run([sys.executable, "-c", NO_QT_RUN,
                   "parity_families or bundles or batch_predict or registry_cli"])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout
