"""Parsing and validating one setting's value from the text a person typed (`settings set`,
the Settings page): a bad value gets a message naming the key, the value and what to give."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

from engine.errors import InputError
from engine.ground.settings_spec import Setting, spec
from engine.ground.watch_folders import parse_folders

_ADDRESS = re.compile(r"[^@\s,;<>\"()]+@[^@\s,;<>\"()]+")


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
    "folder": _parse_folder, "folders": lambda _s, text: parse_folders(text),
    "file": _parse_file, "text": _parse_text, "secret": _parse_text,
}


def parse_setting(key: str, text: str) -> object:
    """The value `text` gives the setting `key`, or an InputError saying what to give."""
    setting = spec(key)
    return PARSERS[setting.kind](setting, text)


