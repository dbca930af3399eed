"""The fault suite: every write step of predict, import, activate, rollback, ratchet and the
watcher (engine.ground.faults.STEPS) is killed with SIGKILL in a real `ratchet` process. After each
kill the workspace is consistent (the doctor finds at most what a stopped run leaves: a
leftover, a pending batch, an unrecorded bundle file), and after the same work runs again the
doctor reports it clean and the work is done exactly once."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

import pytest

from engine.doctor.checks import run_checks
from engine.ground import faults
from engine.ground.paths import Workspace
from engine.ground.shipped import shipped_dir
from tests.engine.workspace_kit import (
    DEMO_BUNDLE,
    DEMO_ID,
    DEMO_VERSION,
    SAMPLE,
    demo_workspace,
    ratchet,
    sha256,
)

STOPPED_RUN_LEAVES = {"W_LEFTOVER", "W_BATCH_PENDING", "W_UNRECORDED_BUNDLE"}
NEXT = DEMO_VERSION + 1  # the demo model signed again as its next version
KEY = shipped_dir("coefficients") / "demo-publisher.key"


@pytest.fixture(scope="module")
def demo_v2(tmp_path_factory) -> Path:
    """The demo model's next version: the same members, signed again as NEXT."""
    folder = tmp_path_factory.mktemp("v2")
    with zipfile.ZipFile(DEMO_BUNDLE) as z:
        for name in ("coefficients.json", "requirements.json", "regression_cases.csv"):
            (folder / name).write_bytes(z.read(name))
    out = folder / f"{DEMO_ID}-{NEXT}.ratchet"
    done = ratchet(folder / "scratch-ws", "bundle", "build", "--coefficients",
                   str(folder / "coefficients.json"), "--requirements",
                   str(folder / "requirements.json"), "--cases",
                   str(folder / "regression_cases.csv"), "--version", str(NEXT), "--key",
                   str(KEY),
                   "-o", str(out))
    assert done.returncode == 0, done.stderr
    return out


def _query(root: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(root / "ratchet.db")
    try:
        return [tuple(r) for r in conn.execute(sql)]
    finally:
        conn.close()


def _with_v2(root: Path, demo_v2: Path) -> None:
    assert ratchet(root, "models", "import", str(demo_v2)).returncode == 0


def _watch_folder(root: Path, tmp: Path) -> Path:
    folder = tmp / "inbox"
    folder.mkdir()
    (folder / "july.csv").write_bytes(SAMPLE.read_bytes())
    assert ratchet(root, "settings", "set", "watch.settle_seconds", "0").returncode == 0
    return folder


# A step's scenario: the command's arguments (after preparing what it needs) and a check that
# the work was done once (for predict: the output, its provenance and its row agree).
def _scenario(step: str, root: Path, tmp: Path, demo_v2: Path):
    area = step.split(".")[0]
    if area == "predict":
        out = tmp / "out.csv"

        def output_recorded() -> bool:  # the output in place, its provenance and row agree
            prov = json.loads(Path(f"{out}.provenance.json").read_text())
            row = _query(root, f"SELECT state, output_sha256 FROM batches WHERE id = "
                               f"{prov['batch_id']}")
            return (row == [("done", sha256(out))] and prov["output_sha256"] == sha256(out)
                    and _query(root, "SELECT * FROM batches WHERE state = 'pending'") == [])
        return ["predict", str(SAMPLE), "-o", str(out)], output_recorded
    if area == "import":
        return (["models", "import", str(demo_v2)],
                lambda: _query(root, "SELECT version FROM active") == [(NEXT,)])
    if area == "activate":
        _with_v2(root, demo_v2)
        return (["models", "activate", DEMO_ID, str(DEMO_VERSION)],
                lambda: _query(root, "SELECT version FROM active") == [(DEMO_VERSION,)])
    if area == "rollback":
        _with_v2(root, demo_v2)
        return (["models", "rollback", DEMO_ID],
                lambda: _query(root, "SELECT version FROM active") == [(DEMO_VERSION,)])
    if area == "ratchet":
        return (["requirements", "set", "roc_auc", "0.93", "--why", "fault suite"],
                lambda: _query(root, "SELECT new FROM requirement_steps") == [(0.93,)])
    if area == "watch":
        folder = _watch_folder(root, tmp)
        return (["watch", str(folder), "--once"],
                lambda: _query(root, "SELECT COUNT(*) FROM nowtests") == [(1,)]
                and _query(root, "SELECT state FROM watched_files") == [("done",)])
    raise AssertionError(f"no scenario kills the step {step}: add one")


@pytest.mark.parametrize("step", faults.STEPS)
def test_a_kill_at_every_write_step_leaves_a_consistent_workspace(tmp_path, demo_v2, step):
    root = demo_workspace(tmp_path / "ws")
    args, done_once = _scenario(step, root, tmp_path, demo_v2)
    killed = ratchet(root, *args, kill_at=step)
    assert killed.returncode == -9, f"the step {step} was never reached: {killed.stderr}"
    left = {f.code for f in run_checks(Workspace(root))}
    assert left <= STOPPED_RUN_LEAVES, f"after a kill at {step}: {left}"
    again = ratchet(root, *args)
    assert again.returncode in (0, 1), again.stderr  # 1: a verdict (an alarm), not an error
    assert done_once(), f"after a kill at {step} and a second run"
    findings = run_checks(Workspace(root))
    assert [f.code for f in findings if f.code != "W_UNRECORDED_BUNDLE"] == []
    doctor = ratchet(root, "--json", "doctor", "--repair")
    assert doctor.returncode == 0 and json.loads(doctor.stdout)["healthy"] is True


def test_every_step_in_the_code_is_in_the_list():
    """A new write step must join faults.STEPS (and so this suite)."""
    import re

    root = Path(__file__).resolve().parents[2] / "engine"
    used = {m for path in root.rglob("*.py")
            for m in re.findall(r'faults\.step\("([^"]+)"\)', path.read_text())}
    assert used == set(faults.STEPS)
