"""The workstation settings there are: each key, its kind, default and help text."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass

from engine.errors import InputError

MASK = "********"



@dataclass(frozen=True, slots=True)
class Setting:
    key: str
    kind: str  # text, host, int, bool, float, address, addresses, folder, folders, file,
    # secret
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
    Setting("watch.folders", "folders", [], "more watch folders, each bound to the model "
            "its files are now-tested with: FOLDER=MODEL entries separated by ';', e.g. "
            "\"/in/flights=demo-flight-delay;/in/sensors=sensor-x\"; a FOLDER alone (or "
            "FOLDER=*) takes the model the file's header fits; each folder once, each model "
            "installed (`ratchet models list`); empty: none. watch.folder, when set, is one "
            "more folder, by header"),
    Setting("watch.settle_seconds", "float", 2.0, "how long a new file's size and time must "
            "stay unchanged before it is read (so a file still being written is not read "
            "half)"),
    Setting("models.allow_expired", "bool", False, "score with a model past its bundle's "
            "expiry date (each use is recorded)"),
)
BY_KEY = {s.key: s for s in SETTINGS}


def spec(key: str) -> Setting:
    try:
        return BY_KEY[key]
    except KeyError:
        raise InputError(f"there is no setting {key!r}; the settings are "
                         f"{', '.join(BY_KEY)}.", "E_SETTING_UNKNOWN") from None


# -- reading -------------------------------------------------------------------------------
