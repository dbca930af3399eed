"""A damaged workspace says what is wrong and is repaired by what it names (issue 12, items 3
to 6): damaged bundles, a lost or garbled database, a lost or never-written trust store,
unreadable settings, and environment failures said in one paragraph."""

from __future__ import annotations

import errno
import json
import sqlite3

import pytest

from engine.ground import fileio
from engine.ground.environment import environment_problem
from engine.ground.paths import Workspace
from engine.registry.registry import Registry
from tests.engine.workspace_kit import (
    DEMO_BUNDLE,
    DEMO_ID,
    DEMO_VERSION,
    SAMPLE,
    doctor,
    garble_a_page,
    in_process,
    ratchet,
)

BUNDLE = f"models/{DEMO_ID}/{DEMO_BUNDLE.name}"



@pytest.mark.parametrize("damage", ["deleted", "changed"])
def test_reimporting_the_bundle_repairs_a_damaged_installed_file(demo_root, tmp_path, capsys,
                                                                 damage):
    installed = demo_root / BUNDLE
    if damage == "deleted":
        installed.unlink()
    else:
        installed.write_bytes(installed.read_bytes() + b"junk")
    code, _, err = in_process(demo_root, capsys, "predict", str(SAMPLE), "-o",
                              str(tmp_path / "o.csv"))
    assert code == 2 and "ratchet doctor --repair BUNDLE" in err
    assert doctor(demo_root)["exit"] == 1
    code, out, err = in_process(demo_root, capsys, "--json", "models", "import", str(DEMO_BUNDLE))
    assert code == 0, err
    assert json.loads(out)["status"] == "repaired"
    assert installed.read_bytes() == DEMO_BUNDLE.read_bytes()
    code, _, err = in_process(demo_root, capsys, "predict", str(SAMPLE), "-o",
                              str(tmp_path / "o.csv"))
    assert code == 0, err
    with Registry.open(demo_root) as reg:  # the repair is on the record; nothing else changed
        actions = [a["action"] for a in reg.activations(DEMO_ID)]
        assert actions == ["import", "repair"] and reg.active_version(DEMO_ID) == DEMO_VERSION
    assert doctor(demo_root)["healthy"] is True


def test_doctor_repair_puts_a_damaged_bundle_back_from_a_given_file(demo_root, capsys):
    (demo_root / BUNDLE).write_bytes(b"not a bundle")
    report = doctor(demo_root)
    assert [p["code"] for p in report["problems"]] == ["E_INSTALLED_TAMPERED"]
    done = ratchet(demo_root, "--json", "doctor", "--repair", str(DEMO_BUNDLE))
    assert done.returncode == 0, done.stderr
    assert "put back" in json.loads(done.stdout)["repaired"][0]
    assert (demo_root / BUNDLE).read_bytes() == DEMO_BUNDLE.read_bytes()


@pytest.mark.parametrize("how", ["deleted", "zero-bytes"])
def test_a_lost_database_is_refused_then_rebuilt_from_the_bundles(demo_root, capsys, how):
    for suffix in ("", "-wal", "-shm"):
        (demo_root / f"ratchet.db{suffix}").unlink(missing_ok=True)
    if how == "zero-bytes":
        (demo_root / "ratchet.db").write_bytes(b"")
    code, out, err = in_process(demo_root, capsys, "models", "list")
    assert code == 2 and "E_WORKSPACE_DB_MISSING" in err and "ratchet doctor --repair" in err
    assert out == ""
    assert not (demo_root / "ratchet.db").exists() or (demo_root / "ratchet.db").stat().st_size == 0
    report = doctor(demo_root)
    assert [p["code"] for p in report["problems"]] == ["E_WORKSPACE_DB_MISSING"]
    assert ratchet(demo_root, "doctor", "--repair").returncode == 0
    code, out, _ = in_process(demo_root, capsys, "--json", "models", "list")
    models = json.loads(out)["models"]
    assert [(m["model_id"], m["version"], m["active"]) for m in models] == [
        (DEMO_ID, DEMO_VERSION, True)]


def test_a_garbled_page_is_named_and_the_history_that_can_be_read_is_kept(demo_root, tmp_path,
                                                                          capsys):
    for i in range(3):
        assert ratchet(demo_root, "predict", str(SAMPLE), "-o", str(tmp_path / f"{i}.csv")
                       ).returncode == 0
    assert ratchet(demo_root, "regress").returncode == 0
    garble_a_page(demo_root, "batches")
    code, _, err = in_process(demo_root, capsys, "predict", str(SAMPLE), "-o",
                              str(tmp_path / "x.csv"))
    assert code == 2
    assert "E_WORKSPACE_DB_DAMAGED" in err and "ratchet doctor" in err
    assert "please report" not in err and "Traceback" not in err
    assert doctor(demo_root)["problems"][0]["code"] == "E_WORKSPACE_DB_DAMAGED"
    done = ratchet(demo_root, "--json", "doctor", "--repair")
    assert done.returncode == 0, done.stdout
    said = json.loads(done.stdout)["repaired"]
    kept = [p for p in demo_root.iterdir() if p.name.startswith("ratchet.db.damaged-")]
    assert kept, "the damaged database must be kept"
    assert any("table regression_runs: 1 row(s) copied" in s for s in said)
    with Registry.open(demo_root) as reg:
        assert reg.db.execute("SELECT COUNT(*) FROM regression_runs").fetchone()[0] == 1
        assert reg.active_version(DEMO_ID) == DEMO_VERSION
    assert doctor(demo_root)["healthy"] is True


def test_a_deleted_trust_store_is_not_silently_replaced(demo_root, capsys):
    (demo_root / "trust.json").unlink()
    Workspace.open(demo_root)  # opening does not put the demo store back into a used workspace
    assert not (demo_root / "trust.json").exists()
    code, _, err = in_process(demo_root, capsys, "models", "import", str(DEMO_BUNDLE))
    assert code == 2 and "E_TRUST_STORE_MISSING" in err and "ratchet doctor --repair" in err
    assert [p["code"] for p in doctor(demo_root)["problems"]] == ["E_TRUST_STORE_MISSING"]
    assert ratchet(demo_root, "doctor", "--repair").returncode == 0
    assert json.loads((demo_root / "trust.json").read_text())["keys"]


def test_a_workspace_first_made_on_a_full_disk_gets_its_trust_store_later(tmp_path,
                                                                           monkeypatch):
    root = tmp_path / "new"

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.os, "fsync", full)
    with pytest.raises(OSError):
        Workspace.open(root)
    assert not (root / "trust.json").exists()
    assert [p.name for p in root.iterdir() if p.is_file()] == []  # no temporary file either
    monkeypatch.undo()
    (root / "trust.json").write_bytes(b"")  # what a plain copy used to leave behind
    Workspace.open(root)
    assert json.loads((root / "trust.json").read_text())["keys"]
    with Registry.open(root) as reg:  # and imports work
        reg.import_bundle(DEMO_BUNDLE.read_bytes())


def test_corrupt_settings_are_reported_and_never_overwritten(demo_root, capsys):
    (demo_root / "settings.json").write_text('{"format": "ratchet-settings", "version": 1, "smtp.')
    code, _, err = in_process(demo_root, capsys, "settings", "set", "smtp.port", "25")
    assert code == 2 and "ratchet doctor" in err
    assert (demo_root / "settings.json").read_text().endswith('"smtp.')
    assert [p["code"] for p in doctor(demo_root)["problems"]] == ["E_SETTINGS_CORRUPT"]
    assert ratchet(demo_root, "doctor", "--repair").returncode == 0
    assert any(p.name.startswith("settings.json.corrupt-") for p in demo_root.iterdir())


@pytest.mark.parametrize(("exc", "code", "words"), [
    (OSError(errno.ENOSPC, "No space left on device"), "E_DISK_FULL", "is full"),
    (OSError(errno.EROFS, "Read-only file system"), "E_READ_ONLY", "read-only"),
    (OSError(errno.EACCES, "Permission denied"), "E_PERMISSION", "permission"),
    (sqlite3.OperationalError("database is locked"), "E_DB_LOCKED", "locked"),
    (sqlite3.OperationalError("attempt to write a readonly database"), "E_READ_ONLY",
     "cannot be written"),
    (sqlite3.DatabaseError("database disk image is malformed"), "E_WORKSPACE_DB_DAMAGED",
     "ratchet doctor"),
])
def test_environment_failures_are_one_paragraph_naming_the_path(demo_root, tmp_path, capsys,
                                                                monkeypatch, exc, code, words):
    """The failure is injected at the step where the output is renamed into place."""
    from engine.ground import faults

    def fail():
        raise exc

    monkeypatch.setitem(faults.hooks, "predict.output-in-place", fail)
    code_, _, err = in_process(demo_root, capsys, "predict", str(SAMPLE), "-o",
                               str(tmp_path / "o.csv"))
    assert code_ == 2
    assert f"[{code}]" in err and words in err
    assert "please report" not in err and "ERROR engine" not in err
    assert len(err.strip().splitlines()) == 1, err
    problem = environment_problem(exc, path=tmp_path / "o.csv", database=demo_root / "ratchet.db")
    assert problem.path in err


def test_a_read_only_database_is_not_called_damaged(demo_root, capsys, monkeypatch):
    """Opening a healthy database that cannot be written: a read-only folder, not damage."""

    def read_only(path):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    from engine.registry import registry

    monkeypatch.setattr(registry, "connect", read_only)
    code, _, err = in_process(demo_root, capsys, "models", "list")
    assert code == 2 and "E_READ_ONLY" in err and str(demo_root / "ratchet.db") in err
    assert "backup" not in err and "damaged" not in err


def test_a_file_that_is_not_a_bundle_is_refused_before_anything_is_repaired(demo_root, tmp_path):
    (demo_root / "settings.json").write_text("{not json")
    not_bundle = tmp_path / "notes.ratchet"
    not_bundle.write_text("hello")
    done = ratchet(demo_root, "doctor", "--repair", str(not_bundle))
    assert done.returncode == 2 and b"E_NOT_A_BUNDLE" in done.stderr
    assert b"nothing was repaired" in done.stderr
    assert (demo_root / "settings.json").read_text() == "{not json"  # nothing changed
