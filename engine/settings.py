"""The workstation's operational settings (SMTP server, alarm recipients, watch folder), kept in
the workspace as WORKSPACE/settings.json (format "ratchet-settings", version 1).

Loading is tolerant, as for the app's own preferences (gui/settings.py): a missing, unreadable
or half-written file, unknown keys and values of the wrong type fall back to the defaults, key
by key. Setting a value parses and validates it first (a bad one changes nothing and gets a
message naming the key, the value and what to give), then saves atomically. The file is
readable by its owner only (0600) because it holds the SMTP password, and the password never
appears in a log line, an error message or a listing (it shows as "********").
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import socket
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.errors import InputError
from engine.fileio import write_atomic

log = logging.getLogger(__name__)

SETTINGS_FORMAT = "ratchet-settings"
SETTINGS_VERSION = 1
FILE_NAME = "settings.json"
MASK = "********"

_ADDRESS = re.compile(r"[^@\s,;<>\"()]+@[^@\s,;<>\"()]+")


@dataclass(frozen=True, slots=True)
class Setting:
    key: str
    kind: str  # text, host, int, bool, float, address, addresses, folder, file, secret
    default: object
    help: str

    @property
    def secret(self) -> bool:
        return self.kind == "secret"

    def shown(self, value: object) -> object:
        """The value as listings show it: a set secret is masked, never revealed."""
        if self.secret:
            return MASK if value else ""
        return value


def _default_sender() -> str:
    host = re.sub(r"[^A-Za-z0-9.-]", "", socket.gethostname()) or "localhost"
    return f"ratchet@{host}"


SETTINGS: tuple[Setting, ...] = (
    Setting("smtp.host", "host", "", "the SMTP server that sends alarm e-mails "
            "(empty: no e-mail)"),
    Setting("smtp.port", "int", 587, "the SMTP server's port (587 for STARTTLS, 465 for "
            "TLS from the start, 25 for a plain relay)"),
    Setting("smtp.starttls", "bool", True, "switch the connection to TLS (STARTTLS) before "
            "logging in and sending"),
    Setting("smtp.user", "text", "", "the SMTP login (empty: send without logging in)"),
    Setting("smtp.password", "secret", "", "the SMTP password (stored in the workspace, "
            "readable by its owner only; never shown or logged)"),
    Setting("smtp.sender", "address", _default_sender(), "the From address of alarm "
            "e-mails"),
    Setting("smtp.cafile", "file", "", "a PEM file of certificate authorities to trust for "
            "the SMTP server (empty: the system's)"),
    Setting("alarms.email_to", "addresses", "", "who gets alarm e-mails: addresses separated "
            "by commas (empty: no e-mail)"),
    Setting("watch.folder", "folder", "", "the folder whose new CSV files are now-tested in "
            "the background (empty: no watcher)"),
    Setting("watch.settle_seconds", "float", 2.0, "how long a new file's size and time must "
            "stay unchanged before it is read (so a file still being written is not read "
            "half)"),
)
BY_KEY = {s.key: s for s in SETTINGS}


def settings_path(root: Path | str | None = None) -> Path:
    """WORKSPACE/settings.json of the workspace at `root` (None: the default workspace)."""
    from engine.registry.workspace import default_workspace

    return (Path(root) if root is not None else default_workspace()) / FILE_NAME


def spec(key: str) -> Setting:
    try:
        return BY_KEY[key]
    except KeyError:
        raise InputError(f"there is no setting {key!r}; the settings are "
                         f"{', '.join(BY_KEY)}.", "E_SETTING_UNKNOWN") from None


# -- reading -------------------------------------------------------------------------------
def _fits(setting: Setting, value: object) -> bool:
    """Whether a stored JSON value has the setting's type (tolerant load keeps it)."""
    if setting.kind == "int":
        return type(value) is int
    if setting.kind == "bool":
        return type(value) is bool
    if setting.kind == "float":
        return type(value) in (int, float) and math.isfinite(value) and value >= 0
    return isinstance(value, str)


def _read_values(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("ignoring the unreadable settings file %s: %s", path, exc)
        return {}
    if not text.strip():
        return {}
    try:
        doc = json.loads(text)
    except ValueError as exc:
        log.warning("ignoring the settings file %s: it is not valid JSON (%s)", path, exc)
        return {}
    if not isinstance(doc, dict) or doc.get("format") != SETTINGS_FORMAT:
        log.warning("ignoring %s: it is not a Ratchet settings file", path)
        return {}
    if doc.get("version") != SETTINGS_VERSION:
        log.info("reading settings version %r as version %d", doc.get("version"),
                 SETTINGS_VERSION)
    values = doc.get("values")
    return values if isinstance(values, dict) else {}


def load_settings(root: Path | str | None = None) -> dict[str, object]:
    """Every setting's value (the default where none is stored or the stored one is unusable).
    The password is the real one here: this is what the e-mail sender reads."""
    path = settings_path(root)
    stored = _read_values(path)
    values: dict[str, object] = {}
    for setting in SETTINGS:
        value = stored.get(setting.key)
        if value is not None and _fits(setting, value):
            values[setting.key] = float(value) if setting.kind == "float" else value
        else:
            if value is not None:
                shown = "(hidden)" if setting.secret else repr(value)
                log.warning("ignoring the setting %s=%s in %s (wrong type); using the "
                            "default", setting.key, shown, path)
            values[setting.key] = setting.default
    return values


def get_setting(root: Path | str | None, key: str) -> object:
    """One setting's value (the real one, also for the password: mask it before showing)."""
    return load_settings(root)[spec(key).key]


def describe_settings(root: Path | str | None = None) -> list[dict]:
    """For listings: key, value (the password as "********" when set), default, help."""
    values = load_settings(root)
    return [{"key": s.key, "value": s.shown(values[s.key]), "default": s.shown(s.default),
             "help": s.help, "type": s.kind} for s in SETTINGS]


# -- parsing and validating ----------------------------------------------------------------
def _bad(setting: Setting, text: str, what: str) -> InputError:
    shown = "(hidden)" if setting.secret else repr(text)
    return InputError(f"the setting {setting.key} cannot be {shown}: {what}.",
                      "E_SETTING_VALUE")


def _parse_int(s: Setting, text: str) -> int:
    t = text.strip()
    if not re.fullmatch(r"[+]?\d{1,6}", t) or not 1 <= int(t) <= 65535:
        raise _bad(s, text, "give a whole number from 1 to 65535")
    return int(t)


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _parse_bool(s: Setting, text: str) -> bool:
    t = text.strip().lower()
    if t in _TRUE | _FALSE:
        return t in _TRUE
    raise _bad(s, text, "give true or false (also yes/no, on/off, 1/0)")


def _parse_float(s: Setting, text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= 3600:
        raise _bad(s, text, "give a number of seconds from 0 to 3600, e.g. 2 or 0.5")
    return value


def _parse_address(s: Setting, text: str) -> str:
    t = text.strip()
    if not _ADDRESS.fullmatch(t):
        raise _bad(s, text, "give one e-mail address such as ratchet@example.com")
    return t


def _parse_addresses(s: Setting, text: str) -> str:
    parts = [p.strip() for p in text.replace(";", ",").split(",")]
    parts = [p for p in parts if p]
    bad = [p for p in parts if not _ADDRESS.fullmatch(p)]
    if bad:
        raise _bad(s, text, f"{bad[0]!r} is not an e-mail address; give addresses such as "
                   "ops@example.com, separated by commas (empty: no e-mail)")
    return ", ".join(parts)


def _parse_host(s: Setting, text: str) -> str:
    t = text.strip()
    if t and not re.fullmatch(r"[A-Za-z0-9.:\[\]_-]+", t):
        raise _bad(s, text, "give a host name or address such as smtp.example.com "
                   "(empty: no e-mail)")
    return t


def _parse_folder(s: Setting, text: str) -> str:
    t = text.strip()
    if not t:
        return ""
    path = Path(t).expanduser()
    if not path.is_dir():
        raise _bad(s, text, "that folder does not exist; create it first or give an "
                   "existing folder (empty: no watcher)")
    return str(path.resolve())


def _parse_file(s: Setting, text: str) -> str:
    t = text.strip()
    if not t:
        return ""
    path = Path(t).expanduser()
    if not path.is_file():
        raise _bad(s, text, "that file does not exist; give an existing PEM file "
                   "(empty: the system's certificate authorities)")
    return str(path.resolve())


def _parse_text(s: Setting, text: str) -> str:
    if any(c in text for c in "\r\n\0"):
        raise _bad(s, text, "give one line of text")
    return text.strip() if not s.secret else text


PARSERS: dict[str, Callable[[Setting, str], object]] = {
    "int": _parse_int, "bool": _parse_bool, "float": _parse_float,
    "address": _parse_address, "addresses": _parse_addresses, "host": _parse_host,
    "folder": _parse_folder, "file": _parse_file, "text": _parse_text, "secret": _parse_text,
}


def parse_setting(key: str, text: str) -> object:
    """The value `text` gives the setting `key`, or an InputError saying what to give."""
    setting = spec(key)
    return PARSERS[setting.kind](setting, text)


# -- saving --------------------------------------------------------------------------------
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
    and validated first, so one bad value changes none. Returns the parsed values."""
    parsed = {spec(key).key: parse_setting(key, text) for key, text in changes.items()}
    path = settings_path(root)
    # Keys this version does not know (written by a newer one) are kept as they are.
    values = {k: v for k, v in _read_values(path).items() if k not in BY_KEY}
    values.update((k, v) for k, v in load_settings(root).items() if v != BY_KEY[k].default)
    values.update(parsed)
    doc = {"format": SETTINGS_FORMAT, "version": SETTINGS_VERSION, "values": values}
    data = (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _make_private(path)
        write_atomic(path, data)
    except OSError as exc:
        raise InputError(f"the settings file {path} cannot be written ({exc.strerror}); check "
                         "that the workspace folder is writable.", "E_SETTINGS_WRITE") from None
    for key, value in parsed.items():
        log.info("setting %s changed to %s", key,
                 "(hidden)" if BY_KEY[key].secret else repr(value))
    return parsed
