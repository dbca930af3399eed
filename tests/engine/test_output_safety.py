"""Outputs never replace what is not a regular file; output, provenance and history row appear
together (or the failure says which exists); killed runs' leftovers are removed by the next
run in that folder (issue 12, items 1, 8 and 9)."""

from __future__ import annotations

import errno
import os
import sqlite3
import stat

import pytest

from engine.batch.commit import reconcile_batches
from engine.batch.score import score_csv
from engine.errors import InputError
from engine.ground import faults
from engine.ground.environment import EnvironmentProblem
from engine.ground.fileio import leftovers, write_atomic
from engine.registry.registry import Registry
from tests.engine.workspace_kit import (
    SAMPLE,
    doctor,
    in_process,
    provenance,
    ratchet,
    sha256,
)


@pytest.fixture
def hooks():
    yield faults.hooks
    faults.hooks.clear()


def _special_files(folder):
    """A character device like /dev/null (made here, as root), a FIFO, and a link to a file."""
    os.mknod(folder / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.mkfifo(folder / "pipe")
    (folder / "target.csv").write_text("keep me\n")
    (folder / "link.csv").symlink_to(folder / "target.csv")
    return {"null": stat.S_ISCHR, "pipe": stat.S_ISFIFO, "link.csv": stat.S_ISLNK}


def test_predict_refuses_a_device_a_fifo_and_a_link_before_any_work(demo_root, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    kinds = _special_files(out)
    for name, is_kind in kinds.items():
        code, _, err = in_process(demo_root, capsys, "predict", str(SAMPLE), "-o", str(out / name))
        assert code == 2, err
        assert "E_OUTPUT_NOT_FILE" in err and str(out / name) in err
        assert is_kind(os.lstat(out / name).st_mode), f"{name} was replaced"
    assert (out / "target.csv").read_text() == "keep me\n"
    assert sorted(p.name for p in out.iterdir()) == ["link.csv", "null", "pipe", "target.csv"]
    with Registry.open(demo_root) as reg:
        assert reg.db.execute("SELECT COUNT(*) FROM batches").fetchone()[0] == 0


def test_reports_and_atomic_writes_refuse_them_too(demo_root, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    kinds = _special_files(out)
    for name, is_kind in kinds.items():
        code, _, err = in_process(demo_root, capsys, "regress", "--report", str(out / name))
        assert code == 2 and "E_OUTPUT_NOT_FILE" in err, err
        with pytest.raises(InputError, match=r"regular file|symbolic link"):
            write_atomic(out / name, b"x")
        assert is_kind(os.lstat(out / name).st_mode)
    with Registry.open(demo_root) as reg:  # refused before the suite ran: nothing recorded
        assert reg.db.execute("SELECT COUNT(*) FROM regression_runs").fetchone()[0] == 0


def test_a_path_that_becomes_a_link_while_scoring_is_not_replaced(demo_root, tmp_path, hooks):
    out = tmp_path / "out.csv"
    (tmp_path / "victim").write_text("precious\n")
    hooks["predict.scored"] = lambda: out.symlink_to(tmp_path / "victim")
    with Registry.open(demo_root) as reg:
        model, label = reg.load_model()
        with pytest.raises(InputError, match="symbolic link"):
            score_csv(SAMPLE, out, model, label, db=reg.db)
        assert reg.db.execute("SELECT state FROM batches").fetchall() == []
    assert out.is_symlink() and (tmp_path / "victim").read_text() == "precious\n"
    assert not leftovers(tmp_path) and [p.name for p in tmp_path.iterdir()
                                        if p.name.startswith(".")] == []


def test_output_provenance_and_history_row_agree(demo_root, tmp_path):
    out = tmp_path / "out.csv"
    assert ratchet(demo_root, "predict", str(SAMPLE), "-o", str(out)).returncode == 0
    prov = provenance(out)
    assert prov["output_sha256"] == sha256(out)
    with Registry.open(demo_root) as reg:
        row = reg.db.execute("SELECT * FROM batches").fetchone()
    assert (row["state"], row["output_sha256"], row["id"]) == ("done", sha256(out),
                                                              prov["batch_id"])


def test_a_disk_full_between_output_and_provenance_says_which_exists(demo_root, tmp_path, hooks):
    out = tmp_path / "out.csv"
    out.write_text("old output\n")
    (tmp_path / "out.csv.provenance.json").write_text('{"rows": 1000000}\n')

    def disk_full():
        raise OSError(errno.ENOSPC, "No space left on device", str(out) + ".provenance.json")

    hooks["predict.output-in-place"] = disk_full
    with Registry.open(demo_root) as reg:
        model, label = reg.load_model()
        with pytest.raises(EnvironmentProblem) as caught:
            score_csv(SAMPLE, out, model, label, db=reg.db)
        assert caught.value.code == "E_DISK_FULL"
        assert "was written, but not its provenance" in caught.value.message
        assert "stays pending" in caught.value.message
        # the new output is in place beside the old provenance, and the row says pending
        assert reg.db.execute("SELECT state FROM batches").fetchone()[0] == "pending"
    hooks.clear()
    # the next run (another process: the writer above counts as gone once it is not us)
    done = ratchet(demo_root, "predict", str(SAMPLE), "-o", str(tmp_path / "again.csv"))
    assert done.returncode == 0, done.stderr
    with Registry.open(demo_root) as reg:
        states = [r[0] for r in reg.db.execute("SELECT state FROM batches ORDER BY id")]
    # still pending: the process that wrote it (this test) is alive, so nobody settles it
    assert states == ["pending", "done"]


def test_a_locked_database_writes_nothing_and_says_so(demo_root, tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("old output\n")
    with Registry.open(demo_root) as reg:
        reg.db.execute("PRAGMA busy_timeout = 50")
        blocker = sqlite3.connect(reg.ws.database, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            model, label = reg.load_model()
            with pytest.raises(EnvironmentProblem) as caught:
                score_csv(SAMPLE, out, model, label, db=reg.db)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert caught.value.code == "E_DB_LOCKED"
        assert f"Nothing was written: {out} was not put in place" in caught.value.message
        assert reg.db.execute("SELECT COUNT(*) FROM batches").fetchone()[0] == 0
    assert out.read_text() == "old output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "ws"]


def test_two_predicts_to_one_output_never_mix(demo_root, tmp_path, hooks):
    """Run B starts and finishes inside run A (after A recorded its pending row): each output
    is renamed with its own provenance under the database's write lock."""
    out = tmp_path / "out.csv"
    half = tmp_path / "half.csv"
    half.write_text("".join(SAMPLE.read_text().splitlines(keepends=True)[:1001]))

    def run_b():
        hooks.pop("predict.pending-recorded")
        with Registry.open(demo_root) as other:
            model, label = other.load_model()
            score_csv(half, out, model, label, db=other.db)
        assert provenance(out)["rows"] == 1000

    hooks["predict.pending-recorded"] = run_b
    with Registry.open(demo_root) as reg:
        model, label = reg.load_model()
        score_csv(SAMPLE, out, model, label, db=reg.db)
        rows = reg.db.execute("SELECT rows, state, output_sha256 FROM batches ORDER BY id")
        rows = [tuple(r) for r in rows]
    assert provenance(out)["rows"] == 2000 and provenance(out)["output_sha256"] == sha256(out)
    assert [r[:2] for r in rows] == [(2000, "done"), (1000, "done")]


@pytest.mark.parametrize("step", ["predict.chunk-written", "predict.scored",
                                  "predict.pending-recorded", "predict.output-in-place",
                                  "predict.provenance-in-place"])
def test_a_killed_predict_is_settled_and_cleaned_by_the_next_run(demo_root, tmp_path, step):
    out = tmp_path / "out.csv"
    killed = ratchet(demo_root, "predict", str(SAMPLE), "-o", str(out), kill_at=step)
    assert killed.returncode == -9
    before = doctor(demo_root)
    nxt = ratchet(demo_root, "predict", str(SAMPLE), "-o", str(tmp_path / "next.csv"))
    assert nxt.returncode == 0, nxt.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "a leftover stayed"
    with Registry.open(demo_root) as reg:
        rows = [dict(r) for r in reg.db.execute("SELECT * FROM batches ORDER BY id")]
    assert rows[-1]["state"] == "done"
    killed_rows = rows[:-1]
    if out.exists():  # it appeared: with its own provenance and a done record
        assert provenance(out)["output_sha256"] == sha256(out)
        assert [r["state"] for r in killed_rows] == ["done"]
    else:  # it never appeared: no record, or one that says the run failed
        assert [r["state"] for r in killed_rows] in ([], ["failed"])
    assert doctor(demo_root)["healthy"] is True
    # what the kill left was only ever a leftover or a pending batch, never damage
    assert {p["code"] for p in before["problems"]} <= {"W_BATCH_PENDING", "W_LEFTOVER"}


def test_a_leftover_is_removed_only_when_its_owner_is_gone(tmp_path):
    from engine.ground.fileio import owned_temp, sweep_leftovers

    fd, mine = owned_temp(tmp_path / "x.csv", "part")
    os.close(fd)
    dead = tmp_path / ".x.csv.ratchet-999999999-1234.abcd.part"  # no such pid
    dead.write_text("partial")
    reused = tmp_path / f".x.csv.ratchet-{os.getpid()}-1.abcd.part"  # our pid, another run
    reused.write_text("partial")
    theirs = tmp_path / ".x.csv.12345.part"  # not Ratchet's naming: never touched
    theirs.write_text("someone else's")
    assert sweep_leftovers(tmp_path) == sorted([dead, reused])
    assert mine.exists() and theirs.exists() and not dead.exists() and not reused.exists()


def test_reconcile_rewrites_a_missing_provenance_from_the_record(demo_root, tmp_path):
    out = tmp_path / "out.csv"
    killed = ratchet(demo_root, "predict", str(SAMPLE), "-o", str(out),
                     kill_at="predict.output-in-place")
    assert killed.returncode == -9 and out.exists()
    assert not (tmp_path / "out.csv.provenance.json").exists()
    with Registry.open(demo_root) as reg:
        said = reconcile_batches(reg.db)
        assert reg.db.execute("SELECT state FROM batches").fetchone()[0] == "done"
    assert "provenance was rewritten" in said[0]
    assert provenance(out)["output_sha256"] == sha256(out) and provenance(out)["rows"] == 2000
