"""Workspace settings: defaults, round trip, validation with clear messages, tolerant load, a
private file, and a password that never shows (listings, logs, error messages)."""

from __future__ import annotations

import json
import logging
import os
import stat
import sys

import pytest

from engine.errors import InputError
from engine.ground.settings import (
    describe_settings,
    get_setting,
    load_settings,
    set_setting,
    settings_path,
)
from engine.ground.settings_spec import MASK

PASSWORD = "s3cret-Pa55-xyzzy"


@pytest.fixture
def root(tmp_path):
    return tmp_path / "ws"


def test_defaults_without_a_file(root):
    values = load_settings(root)
    assert values["smtp.port"] == 587 and values["smtp.starttls"] is True
    assert values["smtp.host"] == "" and values["smtp.password"] == ""
    assert values["watch.settle_seconds"] == 2.0 and values["alarms.email_to"] == ""
    assert str(values["smtp.sender"]).startswith("ratchet@")
    assert not settings_path(root).exists()  # reading never writes


def test_round_trip_of_every_type(root, tmp_path):
    folder = tmp_path / "incoming"
    folder.mkdir()
    assert set_setting(root, "smtp.host", " smtp.example.com ") == "smtp.example.com"
    assert set_setting(root, "smtp.port", "2525") == 2525
    assert set_setting(root, "smtp.starttls", "off") is False
    assert set_setting(root, "alarms.email_to", "a@example.com; b@example.org ,") == \
        "a@example.com, b@example.org"
    assert set_setting(root, "watch.folder", str(folder)) == str(folder.resolve())
    assert set_setting(root, "watch.settle_seconds", "0.5") == 0.5
    assert set_setting(root, "smtp.password", PASSWORD) == PASSWORD
    values = load_settings(root)
    assert values["smtp.host"] == "smtp.example.com" and values["smtp.port"] == 2525
    assert values["smtp.starttls"] is False and values["watch.settle_seconds"] == 0.5
    assert values["smtp.password"] == PASSWORD
    assert get_setting(root, "watch.folder") == str(folder.resolve())
    doc = json.loads(settings_path(root).read_text())
    assert doc["format"] == "ratchet-settings" and doc["version"] == 1


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_the_file_is_private_even_if_it_was_not(root):
    set_setting(root, "smtp.host", "smtp.example.com")
    assert stat.S_IMODE(settings_path(root).stat().st_mode) == 0o600
    os.chmod(settings_path(root), 0o644)
    set_setting(root, "smtp.password", PASSWORD)
    assert stat.S_IMODE(settings_path(root).stat().st_mode) == 0o600


@pytest.mark.parametrize("key,text,expected", [
    ("smtp.port", "abc", "whole number from 1 to 65535"),
    ("smtp.port", "70000", "whole number from 1 to 65535"),
    ("smtp.starttls", "maybe", "true or false"),
    ("alarms.email_to", "ops@example.com, not-an-address", "'not-an-address' is not an e-mail"),
    ("smtp.sender", "ratchet at example", "one e-mail address"),
    ("watch.settle_seconds", "-1", "number of seconds"),
    ("watch.folder", "/no/such/folder/here", "that folder does not exist"),
    ("smtp.cafile", "/no/such/ca.pem", "that file does not exist"),
    ("smtp.host", "smtp example com", "host name"),
])
def test_bad_values_name_key_value_and_what_to_give_and_change_nothing(root, key, text,
                                                                       expected):
    set_setting(root, "smtp.host", "smtp.example.com")
    before = settings_path(root).read_bytes()
    with pytest.raises(InputError) as info:
        set_setting(root, key, text)
    assert key in info.value.message and repr(text) in info.value.message
    assert expected in info.value.message
    assert info.value.code == "E_SETTING_VALUE"
    assert settings_path(root).read_bytes() == before


def test_an_unknown_key_lists_the_known_ones(root):
    with pytest.raises(InputError) as info:
        set_setting(root, "smtp.hots", "x")
    assert "'smtp.hots'" in info.value.message
    assert "smtp.host" in info.value.message and "watch.folder" in info.value.message
    with pytest.raises(InputError):
        get_setting(root, "nope")


def test_tolerant_load_keeps_good_keys_and_drops_bad_ones(root, caplog):
    root.mkdir()
    settings_path(root).write_text(json.dumps({
        "format": "ratchet-settings", "version": 1,
        "values": {"smtp.host": "mail.example.com", "smtp.port": "not a number",
                   "smtp.starttls": 1, "smtp.password": 12345, "future.key": [1]}}))
    with caplog.at_level(logging.WARNING):
        values = load_settings(root)
    assert values["smtp.host"] == "mail.example.com"
    assert values["smtp.port"] == 587 and values["smtp.starttls"] is True
    assert values["smtp.password"] == ""
    assert "12345" not in caplog.text  # even a wrongly typed password is not logged
    # saving keeps what a newer version wrote
    set_setting(root, "smtp.port", "25")
    assert json.loads(settings_path(root).read_text())["values"]["future.key"] == [1]


def test_the_password_is_masked_in_listings_and_absent_from_logs_and_errors(root, caplog):
    with caplog.at_level(logging.DEBUG):
        set_setting(root, "smtp.password", PASSWORD)
        listing = describe_settings(root)
        with pytest.raises(InputError) as info:
            set_setting(root, "smtp.password", PASSWORD + "\nsecond line")
    row = next(r for r in listing if r["key"] == "smtp.password")
    assert row["value"] == MASK and row["default"] == ""
    assert "smtp.password" in caplog.text  # the change itself is logged ...
    assert PASSWORD not in caplog.text  # ... but never the value
    assert PASSWORD not in info.value.message and "(hidden)" in info.value.message
    assert PASSWORD not in json.dumps(listing)
    assert all({"key", "value", "default", "help"} <= set(r) for r in listing)


def test_several_settings_are_saved_together_or_not_at_all(root):
    from engine.ground.settings import set_settings

    assert set_settings(root, {"smtp.host": "mail.example.com", "smtp.port": "25"}) == \
        {"smtp.host": "mail.example.com", "smtp.port": 25}
    before = settings_path(root).read_bytes()
    with pytest.raises(InputError) as info:
        set_settings(root, {"smtp.host": "other.example.com", "smtp.port": "twenty-five"})
    assert "smtp.port" in info.value.message
    assert settings_path(root).read_bytes() == before
