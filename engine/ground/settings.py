"""The workstation's operational settings (SMTP server, alarm recipients, watch folder), kept in
the workspace as WORKSPACE/settings.json (format "ratchet-settings", version 1).

A missing file means the defaults. A file that exists but cannot be used (unreadable, not JSON,
not a Ratchet settings file, written by a newer version) is reported, never silently replaced
by the defaults: that would quietly switch off the alarm e-mails and the watch folder. Loading
it logs a warning and raises SettingsCorrupt (E_SETTINGS_CORRUPT), `settings set` refuses to
overwrite it, and `ratchet doctor` (check_settings, set_aside_corrupt) moves it aside. Inside a
good file, loading stays tolerant key by key: unknown keys are kept as they are and a value of
the wrong type falls back to its default, with a warning. Setting a value parses and validates
it first (a bad one changes nothing and gets a message naming the key, the value and what to
give), then reads, merges and saves atomically under an exclusive lock on settings.json.lock,
so two processes setting different keys at once both keep their change. The file is
readable by its owner only (0600) because it holds the SMTP password, and the password never
appears in a log line, an error message or a listing (it shows as "********").
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import stat
from pathlib import Path

from engine.errors import EngineError, InputError
from engine.ground.fileio import exclusive_lock, write_atomic
from engine.ground.setting_values import parse_setting
from engine.ground.settings_spec import BY_KEY, SETTINGS, Setting, spec
from engine.ground.watch_folders import check_models
from engine.ground.watch_folders import fits as folders_fit

log = logging.getLogger(__name__)

SETTINGS_FORMAT = "ratchet-settings"
SETTINGS_VERSION = 1
FILE_NAME = "settings.json"
LOCK_NAME = "settings.json.lock"
def settings_path(root: Path | str | None = None) -> Path:
    """WORKSPACE/settings.json of the workspace at `root` (None: the default workspace)."""
    from engine.ground.paths import default_workspace

    return (Path(root) if root is not None else default_workspace()) / FILE_NAME


def _fits(setting: Setting, value: object) -> bool:
    """Whether a stored JSON value has the setting's type (tolerant load keeps it)."""
    if setting.kind == "int":
        return type(value) is int
    if setting.kind == "bool":
        return type(value) is bool
    if setting.kind == "float":
        return type(value) in (int, float) and math.isfinite(value) and value >= 0
    if setting.kind == "folders":
        return folders_fit(value)
    return isinstance(value, str)


class SettingsCorrupt(EngineError):
    """settings.json exists but cannot be used; nothing is changed until it is dealt with."""

    code = "E_SETTINGS_CORRUPT"

    def __init__(self, path: Path, problem: str):
        super().__init__(
            f"the settings file {path} cannot be used: {problem}. Until it is dealt with the "
            "alarm e-mails and the watch folder cannot be trusted, so nothing was read from it "
            "or written to it. Run `ratchet doctor`: it moves the file aside (as "
            f"{path.name}.corrupt-TIMESTAMP, to fix or copy from) and starts from the defaults; "
            "or repair the file by hand.")
        self.path = path
        self.problem = problem


def _problem(path: Path) -> tuple[dict, str | None]:
    """(the stored values, None) for a usable or missing file; ({}, what is wrong) else."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}, None
    except OSError as exc:
        return {}, f"it cannot be read ({exc.strerror or exc})"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return {}, "it is not UTF-8 text"
    if not text.strip():
        return {}, "it is empty"
    try:
        doc = json.loads(text)
    except ValueError as exc:
        return {}, f"it is not valid JSON ({exc})"
    if not isinstance(doc, dict) or doc.get("format") != SETTINGS_FORMAT:
        return {}, f"it is not a Ratchet settings file (no \"format\": \"{SETTINGS_FORMAT}\")"
    version = doc.get("version")
    if type(version) is not int or version < 1:
        return {}, f"its version is {version!r}, not a whole number from 1"
    if version > SETTINGS_VERSION:
        return {}, (f"a newer Ratchet wrote it (settings version {version}; this one reads "
                    f"version {SETTINGS_VERSION}), so this version cannot tell what it means")
    values = doc.get("values")
    if not isinstance(values, dict):
        return {}, "its \"values\" is not an object"
    return values, None


def _read_values(path: Path) -> dict:
    """The stored values of a usable settings file ({} when there is none); SettingsCorrupt
    (after a warning in the log) when the file exists but cannot be used."""
    values, problem = _problem(path)
    if problem is not None:
        error = SettingsCorrupt(path, problem)
        log.warning("%s", error.message)
        raise error
    return values


def _typed(setting: Setting, value: object) -> object:
    if setting.kind == "folders":  # a copy: never the default's own list
        return [{"folder": d["folder"], "model": d.get("model") or None} for d in value]
    return float(value) if setting.kind == "float" else value


def load_settings(root: Path | str | None = None) -> dict[str, object]:
    """Every setting's value (the default where none is stored or the stored one has the wrong
    type, with a warning). The password is the real one here: this is what the e-mail sender
    reads. A settings file that cannot be used raises SettingsCorrupt."""
    path = settings_path(root)
    stored = _read_values(path)
    values: dict[str, object] = {}
    for setting in SETTINGS:
        value = stored.get(setting.key)
        if value is not None and _fits(setting, value):
            values[setting.key] = _typed(setting, value)
        else:
            if value is not None:
                log.warning("ignoring the setting %s=%s in %s (wrong type); using the "
                            "default", setting.key, _shown_stored(setting, value), path)
            values[setting.key] = _typed(setting, setting.default)
    return values


def _shown_stored(setting: Setting, value: object) -> str:
    return "(hidden)" if setting.secret else repr(value)


def check_settings(root: Path | str | None = None) -> list[str]:
    """For `ratchet doctor`: what makes the settings file unusable, as plain sentences (empty
    when it is usable or absent; set_aside_corrupt fixes each of these). Reads only; never
    raises for a bad file. The lesser problems of a usable file: settings_notes."""
    path = settings_path(root)
    _, problem = _problem(path)
    if problem is None:
        return []
    return [f"The settings file {path} cannot be used: {problem}. Move it aside and start "
            "from the defaults (`ratchet doctor --repair`), or repair it by hand."]


_KINDS = {"int": "a whole number", "bool": "true or false", "float": "a number of seconds",
          "folders": "a list of folders with their models"}


def settings_notes(root: Path | str | None = None) -> list[str]:
    """For `ratchet doctor`, as warnings: the problems of a usable settings file that loading
    tolerates (a value of the wrong type, which falls back to its default) and a file others
    can read although it can hold the password. Empty for an unusable or absent file."""
    path = settings_path(root)
    stored, problem = _problem(path)
    if problem is not None:
        return []
    out = []
    for setting in SETTINGS:
        value = stored.get(setting.key)
        if value is not None and not _fits(setting, value):
            out.append(f"The setting {setting.key} in {path} is "
                       f"{_shown_stored(setting, value)}, which is not "
                       f"{_KINDS.get(setting.kind, 'text')}; the "
                       f"default {setting.shown(setting.default)!r} is used instead. Set it "
                       f"again with `ratchet settings set {setting.key} VALUE`.")
    if (os.name == "posix" and path.exists()
            and stat.S_IMODE(path.stat().st_mode) & 0o077):
        out.append(f"The settings file {path} is readable by other users although it can hold "
                   "the SMTP password; the next `ratchet settings set` makes it private "
                   f"(or run: chmod 600 {path}).")
    return out


def set_aside_corrupt(root: Path | str | None = None) -> Path:
    """Move an unusable settings.json aside as settings.json.corrupt-TIMESTAMP (under the
    settings lock) so the defaults apply from now on; returns where it went. Refused
    (InputError, nothing moved) when the file is missing or usable."""
    path = settings_path(root)
    with _locked(path):
        if not path.exists():
            raise InputError(f"there is no settings file {path} to set aside.",
                             "E_SETTINGS_NOT_CORRUPT")
        _, problem = _problem(path)
        if problem is None:
            raise InputError(f"the settings file {path} is usable; it was not moved.",
                             "E_SETTINGS_NOT_CORRUPT")
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        target = path.with_name(f"{path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        os.replace(path, target)
    log.warning("moved the unusable settings file %s aside to %s (%s); the defaults apply",
                path, target, problem)
    return target


def get_setting(root: Path | str | None, key: str) -> object:
    """One setting's value (the real one, also for the password: mask it before showing)."""
    return load_settings(root)[spec(key).key]


def describe_settings(root: Path | str | None = None) -> list[dict]:
    """For listings: key, value (the password as "********" when set), default, help."""
    values = load_settings(root)
    return [{"key": s.key, "value": s.shown(values[s.key]), "default": s.shown(s.default),
             "help": s.help, "type": s.kind} for s in SETTINGS]


# -- saving --------------------------------------------------------------------------------
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    return exclusive_lock(path.with_name(LOCK_NAME))


def race_window(stage: str, path: Path) -> None:
    """Called by set_settings after validating (stage "before-lock") and between its read and
    its write under the lock ("locked"). Does nothing; a test replaces it to run a competing
    writer exactly there."""


def _make_private(path: Path) -> None:
    """The file must be the owner's alone before the password is written into it (write_atomic
    keeps an existing file's mode)."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
    if stat.S_IMODE(path.stat().st_mode) != 0o600:
        os.chmod(path, 0o600)


def set_setting(root: Path | str | None, key: str, text: str) -> object:
    """Parse, validate and store one setting; returns the parsed value. A bad value raises
    InputError and changes nothing."""
    return set_settings(root, {key: text})[spec(key).key]


def set_settings(root: Path | str | None, changes: dict[str, str]) -> dict[str, object]:
    """Several settings in one atomic save (the Settings page's Save): every value is parsed
    and validated first, so one bad value changes none. The file is read, merged and written
    under the settings lock, so a change saved by another process meanwhile is kept. An
    unusable settings file is never overwritten (SettingsCorrupt). Returns the parsed
    values."""
    parsed = {spec(key).key: parse_setting(key, text) for key, text in changes.items()}
    if "watch.folders" in parsed:
        check_models(root, parsed["watch.folders"])  # the models must be installed here
    path = settings_path(root)
    race_window("before-lock", path)
    try:
        with _locked(path):
            stored = _read_values(path)
            race_window("locked", path)
            # Keys this version does not know are kept as they are; known ones with a usable
            # value other than the default too (a wrongly typed one goes).
            values = {k: v for k, v in stored.items() if k not in BY_KEY or (
                v is not None and _fits(BY_KEY[k], v) and v != BY_KEY[k].default)}
            values.update(parsed)
            doc = {"format": SETTINGS_FORMAT, "version": SETTINGS_VERSION, "values": values}
            data = (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode("utf-8")
            _make_private(path)
            write_atomic(path, data)
    except OSError as exc:
        raise InputError(f"the settings file {path} cannot be written ({exc.strerror}); check "
                         "that the workspace folder is writable.", "E_SETTINGS_WRITE") from None
    for key, value in parsed.items():
        log.info("setting %s changed to %s", key,
                 "(hidden)" if BY_KEY[key].secret else repr(value))
    return parsed
