"""The name of the socket an app listens on for later launches on its workspace, and whether
one can be listening at all, without Qt (gui/single_instance.py does the talking).

Every launch of the app asks first whether an app already runs on its workspace. Importing
QtNetwork for that costs about 12 ms, some 7% of the time to the window (issue 16), and on
Linux and macOS the answer is usually visible without it: QLocalServer listens on a socket
file named `server_name` in QDir::tempPath() ($TMPDIR, else /tmp), so when no such file
exists no app is listening. Only when it exists (an app, or one that crashed) does the launch
ask through Qt. Windows uses named pipes, which have no file to look at: there it always asks.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path


def server_name(workspace: Path | str) -> str:
    """The socket name of the app running on ``workspace`` (the same for every spelling of
    the same folder)."""
    resolved = str(Path(workspace).expanduser().resolve())
    return "ratchet-" + hashlib.sha256(resolved.encode("utf-8")).hexdigest()[:20]


def socket_file(workspace: Path | str) -> Path | None:
    """Where QLocalServer puts the socket of ``workspace``'s app (None on Windows)."""
    if sys.platform == "win32":
        return None
    return Path(os.environ.get("TMPDIR") or "/tmp") / server_name(workspace)


def nobody_listens(workspace: Path | str) -> bool:
    """True when certainly no app listens on ``workspace`` (no socket file); False when one
    may (ask it through gui.single_instance.hand_over)."""
    path = socket_file(workspace)
    return path is not None and not os.path.lexists(path)
