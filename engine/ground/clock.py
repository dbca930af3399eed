"""The clock and the user: what records are stamped with (workspace history, publisher-side
artifacts)."""

from __future__ import annotations

import datetime as dt
import getpass
import os


def build_time() -> dt.datetime:
    """Now, or SOURCE_DATE_EPOCH when set (reproducible builds: same inputs, same bytes)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def now_text() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
