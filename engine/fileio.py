"""Files that appear whole or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def check_report_path(report: Path | None, example: str = "report.html") -> None:
    """Refuse, before any work is done or recorded, a --report path that cannot be written:
    its folder missing, or a folder given instead of a file."""
    from engine.errors import InputError

    if report is None:
        return
    report = Path(report)
    if not report.parent.is_dir():
        raise InputError(f"the report folder {report.parent} does not exist; create it or "
                         "choose another --report path.", "E_OUTPUT_FOLDER")
    if report.is_dir():
        raise InputError(f"--report {report} is a folder; give a file name such as "
                         f"{example}.", "E_OUTPUT_FOLDER")


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, fsync it, then rename it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain write would have.
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _sync_folder(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
