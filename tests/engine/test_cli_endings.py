"""The command line ends in one paragraph, never a traceback: Ctrl-C, SIGTERM and SIGHUP in
the middle of a run, a reader that closes the pipe early (issue 12, item 10)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from engine.registry.registry import Registry
from tests.engine.workspace_kit import SAMPLE, ratchet


@pytest.mark.parametrize(("signal", "words"), [("INT", "interrupted (Ctrl-C)"),
                                               ("TERM", "stopped by SIGTERM"),
                                               ("HUP", "stopped by SIGHUP")])
def test_a_signal_mid_predict_removes_the_unfinished_output_and_says_so(demo_root, tmp_path,
                                                                        signal, words):
    out = tmp_path / "out" / "predictions.csv"
    out.parent.mkdir()
    done = ratchet(demo_root, "predict", str(SAMPLE), "-o", str(out),
                   kill_at="predict.chunk-written", signal=signal)
    err = done.stderr.decode()
    assert done.returncode == 130, err
    assert words in err and "nothing was recorded" in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert list(out.parent.iterdir()) == []  # no output, no hidden .part file
    with Registry.open(demo_root) as reg:
        assert reg.db.execute("SELECT COUNT(*) FROM batches").fetchone()[0] == 0


@pytest.mark.parametrize("command", [["regress"], ["nowtest", str(SAMPLE)]])
def test_ctrl_c_in_other_long_commands_has_no_traceback(demo_root, capsys, monkeypatch, command):
    from engine.cli import main
    from engine.model import model as model_module

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    for method in ("predict", "predict_columns"):  # Ctrl-C while the model scores
        monkeypatch.setattr(model_module.Model, method, interrupt)
    code = main(["--workspace", str(demo_root), *command])
    err = capsys.readouterr().err
    assert code == 130 and "interrupted (Ctrl-C)" in err and "Traceback" not in err


def test_a_reader_that_closes_the_pipe_early_is_not_an_error(demo_root):
    child = subprocess.Popen([sys.executable, "-m", "engine.cli", "--workspace", str(demo_root),
                              "--json", "models", "list"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    child.stdout.close()  # like `| head -c 0`: gone before anything is printed
    err = child.stderr.read().decode()
    assert child.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "BrokenPipeError" not in err
