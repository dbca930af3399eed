"""Faults in the workspace settings: a settings.json that cannot be used is reported (never
silently replaced by the defaults, which would switch the alarm e-mails and the watch folder
off, and never overwritten by the next `settings set`); `ratchet doctor`'s check_settings and
set_aside_corrupt; two writers at once both keep their change (an exclusive lock around the
read-modify-write, raced deterministically through the hooks race_window and lock_wait); and
the rollback state, which a save never lowers."""

from __future__ import annotations

import fcntl
import json
import logging
import threading
from types import SimpleNamespace

import pytest

from engine.cli import main
from engine.errors import EngineError, InputError
from engine.ground import fileio
from engine.ground import settings as settings_module
from engine.ground.settings import (
    LOCK_NAME,
    SettingsCorrupt,
    check_settings,
    describe_settings,
    get_setting,
    load_settings,
    set_aside_corrupt,
    set_setting,
    settings_notes,
    settings_path,
)

GOOD = {"format": "ratchet-settings", "version": 1,
        "values": {"smtp.host": "mail.example.com", "alarms.email_to": "ops@example.com"}}
CORRUPT = {
    "empty": b"",
    "not json": b'{"format": "ratchet-settings", "version": 1, "values": {"smtp.ho',
    "not utf-8": b"\xff\xfe{}",
    "another format": json.dumps({"format": "other", "version": 1, "values": {}}).encode(),
    "a list": b"[1, 2]",
    "a newer version": json.dumps({**GOOD, "version": 2}).encode(),
    "a bad version": json.dumps({**GOOD, "version": "one"}).encode(),
    "values not an object": json.dumps({**GOOD, "values": ["smtp.host"]}).encode(),
}
WHAT = {"empty": "it is empty", "not json": "not valid JSON", "not utf-8": "not UTF-8",
        "another format": "not a Ratchet settings file", "a list": "not a Ratchet settings",
        "a newer version": "a newer Ratchet wrote it (settings version 2",
        "a bad version": "its version is 'one'", "values not an object": '"values" is not'}


@pytest.fixture
def root(tmp_path):
    folder = tmp_path / "ws"
    folder.mkdir()
    return folder


def write(root, data: bytes):
    path = settings_path(root)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("kind", list(CORRUPT))
def test_an_unusable_file_is_reported_not_defaulted(root, kind, caplog):
    path = write(root, CORRUPT[kind])
    with caplog.at_level(logging.WARNING, logger="engine.ground.settings"), \
            pytest.raises(SettingsCorrupt) as info:
        load_settings(root)
    error = info.value
    assert isinstance(error, EngineError) and error.code == "E_SETTINGS_CORRUPT"
    assert str(path) in error.message and WHAT[kind] in error.message
    assert "ratchet doctor" in error.message
    assert str(path) in caplog.text and WHAT[kind] in caplog.text  # logged as a warning
    for read in (lambda: describe_settings(root), lambda: get_setting(root, "smtp.host")):
        with pytest.raises(SettingsCorrupt):
            read()
    problems = check_settings(root)
    assert len(problems) == 1 and str(path) in problems[0] and WHAT[kind] in problems[0]


@pytest.mark.parametrize("kind", ["not json", "a newer version"])
def test_set_refuses_to_overwrite_an_unusable_file(root, kind, capsys):
    path = write(root, CORRUPT[kind])
    with pytest.raises(SettingsCorrupt):
        set_setting(root, "smtp.port", "25")
    assert path.read_bytes() == CORRUPT[kind]
    base = ["--workspace", str(root), "--json", "settings"]
    for args in (["set", "smtp.port", "25"], ["list"], ["get", "smtp.host"]):
        assert main([*base, *args]) == 2
        assert json.loads(capsys.readouterr().out)["error"] == "E_SETTINGS_CORRUPT"
    assert path.read_bytes() == CORRUPT[kind]  # nothing changed
    assert sorted(p.name for p in root.iterdir() if p.name.startswith("settings")) == [
        "settings.json", LOCK_NAME]


def test_the_watcher_does_not_silently_switch_off(root, tmp_path):
    from engine.commands import monitor

    write(root, CORRUPT["not json"])
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for folder in (None, str(inbox)):  # from the setting, or named: settle time is a setting
        with pytest.raises(SettingsCorrupt):
            monitor.cmd_watch(SimpleNamespace(folder=folder, once=True, model=None, json=False),
                              root)


def test_an_alarm_email_says_the_settings_are_unusable(root):
    from engine.ground.database import connect
    from engine.services.nowtest import email_new_alarms

    write(root, CORRUPT["a newer version"])
    conn = connect(root / "ratchet.db")
    try:
        error = email_new_alarms(conn, root, [SimpleNamespace(id=1)])
    finally:
        conn.close()
    assert error is not None and "cannot be used" in error and "ratchet doctor" in error


def test_doctor_sets_an_unusable_file_aside_and_the_defaults_apply(root):
    path = write(root, CORRUPT["not json"])
    moved = set_aside_corrupt(root)
    assert moved.parent == root and moved.name.startswith("settings.json.corrupt-")
    assert moved.read_bytes() == CORRUPT["not json"] and not path.exists()
    assert check_settings(root) == [] and load_settings(root)["smtp.port"] == 587
    assert set_setting(root, "smtp.port", "25") == 25
    with pytest.raises(InputError) as info:  # a usable file is never moved
        set_aside_corrupt(root)
    assert info.value.code == "E_SETTINGS_NOT_CORRUPT" and path.exists()
    write(root, CORRUPT["empty"])
    second = set_aside_corrupt(root)
    assert second != moved and moved.exists() and second.exists()  # nothing overwritten


def test_set_aside_without_a_file_is_refused(root):
    with pytest.raises(InputError) as info:
        set_aside_corrupt(root)
    assert info.value.code == "E_SETTINGS_NOT_CORRUPT"


def test_settings_notes_name_wrongly_typed_values_and_load_stays_tolerant(root, caplog):
    assert check_settings(root) == [] and settings_notes(root) == []
    set_setting(root, "smtp.host", "mail.example.com")
    assert check_settings(root) == [] and settings_notes(root) == []
    doc = json.loads(settings_path(root).read_text())
    doc["values"].update({"smtp.port": "twenty-five", "smtp.password": 12345,
                          "future.key": {"kept": True}})
    write(root, json.dumps(doc).encode()).chmod(0o644)  # as an editor might leave it
    assert check_settings(root) == []  # usable: nothing for set_aside_corrupt to do
    notes = settings_notes(root)
    assert len(notes) == 3 and "smtp.port" in notes[0] and "'twenty-five'" in notes[0]
    assert "not a whole number" in notes[0]
    assert "smtp.password" in notes[1] and "12345" not in notes[1]
    assert "readable by other users" in notes[2] and "chmod 600" in notes[2]
    with caplog.at_level(logging.WARNING, logger="engine.ground.settings"):
        values = load_settings(root)
    assert values["smtp.port"] == 587 and values["smtp.host"] == "mail.example.com"
    assert "smtp.port" in caplog.text and "12345" not in caplog.text
    set_setting(root, "smtp.starttls", "off")  # a set keeps unknown keys, drops the bad ones
    stored = json.loads(settings_path(root).read_text())["values"]
    assert stored == {"smtp.host": "mail.example.com", "smtp.starttls": False,
                      "future.key": {"kept": True}}


def test_the_new_allow_expired_setting(root):
    assert load_settings(root)["models.allow_expired"] is False
    assert set_setting(root, "models.allow_expired", "yes") is True
    assert get_setting(root, "models.allow_expired") is True


# -- two writers at once ----------------------------------------------------------------------
def probe_locked(lock_path) -> bool:
    """Whether another holder has the lock (a non-blocking attempt on a new open file)."""
    with open(lock_path, "a+b") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return False


def test_the_read_modify_write_holds_the_lock(root, monkeypatch):
    seen = []

    def window(stage, path):
        if stage == "locked":
            seen.append(probe_locked(path.with_name(LOCK_NAME)))
    monkeypatch.setattr(settings_module, "race_window", window)
    set_setting(root, "smtp.host", "mail.example.com")
    assert seen == [True]
    assert probe_locked(settings_path(root).with_name(LOCK_NAME)) is False  # released after


def test_two_settings_set_at_once_both_keep_their_change(root, monkeypatch):
    """Writer B (another thread, as another process would) starts while A is between its read
    and its write; A goes on only once B is either waiting for the lock (the fix) or, were
    there no lock, has finished its own read-modify-write: then A would write over it."""
    main_thread = threading.current_thread()
    b_waits_or_wrote = threading.Event()
    b_done = threading.Event()
    b_errors = []

    def window(stage, path):
        if threading.current_thread() is not main_thread:
            if stage == "locked":
                b_waits_or_wrote.set()  # B got in: only possible without the lock
            return
        if stage == "locked" and not b_done.is_set():
            thread.start()
            b_waits_or_wrote.wait()
            if not probe_locked(path.with_name(LOCK_NAME)):  # no lock: let B finish first
                thread.join()

    def wait(lock_path):
        if threading.current_thread() is not main_thread:
            b_waits_or_wrote.set()

    def writer_b():
        try:
            set_setting(root, "smtp.port", "2525")
        except Exception as exc:  # reported below
            b_errors.append(exc)
        b_done.set()
    thread = threading.Thread(target=writer_b)
    monkeypatch.setattr(settings_module, "race_window", window)
    monkeypatch.setattr(fileio, "lock_wait", wait)
    set_setting(root, "smtp.host", "mail.example.com")
    thread.join()
    assert b_errors == []
    values = load_settings(root)
    assert values["smtp.host"] == "mail.example.com" and values["smtp.port"] == 2525


# -- the rollback state -----------------------------------------------------------------------

def test_a_stale_rollback_state_never_lowers_a_version(empty_ws):
    from engine.bundle.verify import Accepted
    from engine.registry.rollback_state import load_state, save_state

    save_state(empty_ws, {"m": Accepted(3, "a" * 64)})
    stale = load_state(empty_ws)  # writer A reads ...
    save_state(empty_ws, {"m": Accepted(5, "b" * 64)})  # ... B raises m to 5 meanwhile ...
    stale["other"] = Accepted(1, "c" * 64)
    written = save_state(empty_ws, stale)  # ... and A saves what it read, plus its own change
    assert written == load_state(empty_ws) == {"m": Accepted(5, "b" * 64),
                                               "other": Accepted(1, "c" * 64)}
    save_state(empty_ws, {"m": Accepted(5, "d" * 64)})  # a tie keeps the version accepted first
    assert load_state(empty_ws)["m"] == Accepted(5, "b" * 64)


def test_the_rollback_state_is_merged_and_written_under_its_lock(empty_ws, monkeypatch):
    from engine.bundle.verify import Accepted
    from engine.registry import rollback_state

    seen = []
    monkeypatch.setattr(rollback_state, "race_window", lambda path: seen.append(
        probe_locked(path.with_name(path.name + ".lock"))))
    rollback_state.save_state(empty_ws, {"m": Accepted(1, "a" * 64)})
    assert seen == [True]
    leftovers = [p.name for p in empty_ws.root.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []  # written atomically: no temporary file left behind
