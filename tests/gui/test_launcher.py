"""The launcher hands headless commands to engine.cli without ever importing Qt."""

import json
import subprocess
import sys
import textwrap

import pytest

from gui.launcher import gui_arguments, main, split_global_options

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


# -- opening a bundle: `ratchet FILE.ratchet` (a double-click) and `ratchet gui --import` ------


@pytest.mark.parametrize(
    ("rest", "expected"),
    [
        ([], []),
        (["gui", "--smoke", "1"], ["--smoke", "1"]),
        (["demo.ratchet"], ["--import", "demo.ratchet"]),
        (["/media/usb/Demo-2.RATCHET"], ["--import", "/media/usb/Demo-2.RATCHET"]),
        (["aug.csv"], ["--predict", "aug.csv"]),
        (["models", "import", "demo.ratchet"], None),
        (["bundle", "verify", "demo.ratchet"], None),
        (["predict", "in.csv", "-o", "out.csv"], None),
    ],
)
def test_gui_arguments_turn_a_lone_bundle_into_its_import(rest, expected):
    assert gui_arguments(rest) == expected


@pytest.mark.parametrize("form", [["{path}"], ["gui", "--import", "{path}"]])
def test_a_missing_bundle_is_refused_before_the_app_opens(form, tmp_path, capsys):
    missing = tmp_path / "nowhere" / "demo-flight-delay-9.ratchet"
    argv = ["--workspace", str(tmp_path / "ws"), *(a.format(path=missing) for a in form)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"cannot open the bundle {missing}: there is no such file" in err
    assert not (tmp_path / "ws").exists()  # nothing was created


def test_a_missing_csv_is_refused_before_the_app_opens(tmp_path, capsys):
    missing = tmp_path / "nowhere" / "aug.csv"
    assert main(["--workspace", str(tmp_path / "ws"), str(missing)]) == 2
    assert f"cannot open {missing}: there is no such file" in capsys.readouterr().err
    assert not (tmp_path / "ws").exists()


@pytest.mark.parametrize("form", [["{path}"], ["gui", "--import", "{path}"]])
def test_a_bundle_path_opens_the_app_on_it(form, tmp_path, monkeypatch):
    import gui.app

    bundle = tmp_path / "test-model-1.ratchet"
    bundle.write_bytes(b"not verified yet: the app verifies it")
    calls = []
    monkeypatch.setattr(gui.app, "run_app", lambda argv, **kw: calls.append(kw) or 0)
    monkeypatch.chdir(tmp_path)
    argv = ["--workspace", str(tmp_path / "ws"), *(a.format(path=bundle.name) for a in form)]
    assert main(argv) == 0
    (kwargs,) = calls
    assert kwargs["bundle"] == bundle  # made absolute against the folder it was opened from
    assert kwargs["workspace"] == tmp_path / "ws"
    assert "status" not in kwargs and "findings" not in kwargs
    # The window comes first: the workspace is opened (and the demo installed) by the app,
    # in a worker once its window is up (tests/gui/test_window_first.py), not before it.
    assert not (tmp_path / "ws" / "ratchet.db").exists()


def test_the_window_verifies_an_opened_bundle_and_installs_it_when_confirmed(
        ctx, tmp_path, qtbot, monkeypatch, answers):
    from engine.ground.paths import Workspace
    from engine.registry.registry import Registry
    from gui.main_window import MainWindow
    from tests.gui.kit import TIMEOUT_MS, build_test_bundles

    trust, bundles, _ = build_test_bundles(tmp_path, versions=(1,))
    monkeypatch.setenv("RATCHET_TRUST_STORE", str(trust))
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.models.changed, timeout=TIMEOUT_MS):
        window.import_bundle_file(bundles[1])
    assert window.current_page() == "models"
    assert answers.asked[-1].startswith("Verified: test-model version 1, signed by Test "
                                        "publisher (")
    registry = Registry(Workspace.open(ctx.workspace))
    try:
        assert registry.resolve("test-model") == ("test-model", 1)
    finally:
        registry.close()


BLAS_PROBE = textwrap.dedent(
    """
    import contextlib, io
    from gui.launcher import main
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        main(["--help"])  # any command: the setting comes first
    import numpy  # loads OpenBLAS
    from threadpoolctl import threadpool_info
    print([p["num_threads"] for p in threadpool_info() if p["internal_api"] == "openblas"])
    """
)


@pytest.mark.parametrize(("preset", "threads"), [(None, "[1]"), ("2", "[2]")])
def test_openblas_runs_one_thread_unless_the_user_asks(preset, threads, tmp_path):
    """numpy's OpenBLAS, loaded after the launcher ran, has one thread (the user's number when
    OPENBLAS_NUM_THREADS is set): threadpoolctl reads it from the loaded library."""
    env = {k: v for k, v in __import__("os").environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if preset is not None:
        env["OPENBLAS_NUM_THREADS"] = preset
    run = subprocess.run([sys.executable, "-c", BLAS_PROBE], capture_output=True, text=True,
                         env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == threads
