"""The app's log: a rotating file in the workspace's logs/ folder.

The app writes its own file (``ratchet-gui.log``) beside the command line's ``ratchet.log``:
a long-running app that rotates a file other processes append to would, on Windows, fail to
rename it while a command holds it open.
"""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOG_NAME = "ratchet-gui.log"
MAX_BYTES = 2 * 1024 * 1024
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"

_current: Path | None = None


def setup_logging(logs_dir: Path, level: int = logging.INFO) -> Path | None:
    """Log INFO and up to ``logs_dir/ratchet-gui.log`` (rotated) and WARNING and up to stderr.

    Returns the file's path, or None when the folder is not writable (the app still starts).
    """
    global _current
    root = logging.getLogger()
    root.setLevel(level)
    if not any(getattr(h, "_ratchet", False) for h in root.handlers):
        console = logging.StreamHandler()
        console.setLevel(logging.WARNING)
        console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        console._ratchet = True  # type: ignore[attr-defined]
        root.addHandler(console)
    path = Path(logs_dir) / LOG_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                      encoding="utf-8")
    except OSError as exc:
        logging.getLogger(__name__).warning("cannot write the log file %s: %s", path, exc)
        return None
    handler.setFormatter(logging.Formatter(FORMAT))
    handler._ratchet = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    _current = path
    return path


def log_file() -> Path | None:
    """The file the app logs to (None before setup_logging, or when it could not open one)."""
    return _current
