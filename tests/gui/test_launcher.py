"""The launcher hands headless commands to engine.cli without ever importing Qt."""

import json
import subprocess
import sys
import textwrap

import pytest

from gui.launcher import main, split_global_options

# Runs in a fresh interpreter with a stand-in engine.cli, so the check neither depends on the
# real CLI nor sees Qt modules that pytest-qt already loaded into this process.
PROBE = textwrap.dedent(
    """
    import json, sys, types
    calls = []
    engine = types.ModuleType("engine"); engine.__path__ = []
    cli = types.ModuleType("engine.cli")
    cli.main = lambda argv: calls.append(argv) or 7
    sys.modules.update({"engine": engine, "engine.cli": cli})
    from gui.launcher import main
    code = main(sys.argv[1:])
    qt = sorted(m for m in sys.modules if m.startswith(("PySide6", "shiboken6")))
    print(json.dumps({"code": code, "calls": calls, "qt": qt}))
    """
)


def test_headless_command_goes_to_engine_cli_without_qt():
    argv = ["--workspace", "/tmp/ws", "--json", "export", "m.joblib", "-o", "c.json"]
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(out.stdout)
    assert result == {"code": 7, "calls": [argv], "qt": []}


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], ([], [])),
        (["gui", "--smoke", "1"], ([], ["gui", "--smoke", "1"])),
        (["--json", "--workspace", "W", "predict"], (["--json", "--workspace", "W"], ["predict"])),
        (["--workspace=W", "gui"], (["--workspace=W"], ["gui"])),
    ],
)
def test_split_global_options(argv, expected):
    assert split_global_options(argv) == expected


@pytest.mark.parametrize("argv", [["--workspace"], ["gui", "--smoke", "-1"], ["gui", "--nope"]])
def test_gui_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    assert capsys.readouterr().err
