"""Files that appear whole or not at all, only where a regular file may stand.

Ratchet writes a file as a temporary sibling that it renames into place. Two rules follow:

- The destination must be a new path or an existing regular file. A rename would *replace* a
  device node (`/dev/null`), a FIFO, a socket or a symbolic link with a regular file, so those
  are refused before any work is done (`check_output_path`), and again just before the rename.
- A temporary sibling is named `.<name>.ratchet-<pid>-<start>.<random>.<part|tmp>`: the name
  says which run of which process owns it, so a later run in the same folder removes the ones
  whose owner is gone (`sweep_leftovers`) and never touches anyone else's files.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

from engine.ground.process_identity import pid_alive, start_token

log = logging.getLogger(__name__)

_KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"))
# .NAME.ratchet-PID-START.RANDOM.part|tmp (START: the process's start time in clock ticks).
_LEFTOVER = re.compile(r"^\..+\.ratchet-(\d+)-(\d+)\.[A-Za-z0-9_]+\.(part|tmp)$")


def check_output_path(path: Path, what: str = "output", example: str = "output.csv") -> None:
    """Refuse, before any work is done or recorded, a destination that Ratchet must not
    replace or cannot write: its folder missing, a folder, a symbolic link, a device, a FIFO
    or a socket. A new path or an existing regular file is fine."""
    from engine.errors import InputError

    path = Path(path)
    try:
        info = path.lstat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise InputError(f"the {what} {path} cannot be checked ({exc.strerror}); choose "
                         "another place.", "E_OUTPUT_FOLDER") from exc
    if info is not None and stat.S_ISLNK(info.st_mode):
        target = os.path.realpath(path)
        raise InputError(f"the {what} {path} is a symbolic link (to {target}); Ratchet never "
                         "replaces a link. Give the path of the file itself, or a new name.",
                         "E_OUTPUT_NOT_FILE")
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise InputError(f"the {what} {path} is a folder; give a file name such as "
                         f"{example}.", "E_OUTPUT_FOLDER")
    if info is not None and not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
        raise InputError(f"the {what} {path} is {kind}, not a regular file; Ratchet writes "
                         "only regular files (it would replace it). Give a file name such as "
                         f"{example}.", "E_OUTPUT_NOT_FILE")
    if not path.parent.is_dir():
        raise InputError(f"the {what} folder {path.parent} does not exist; create it or "
                         f"choose another place for {path.name}.", "E_OUTPUT_FOLDER")


HTML_SUFFIXES = (".html", ".htm")
PDF_SUFFIXES = (".pdf",)


def check_report_path(report: Path | None, example: str = "report.html") -> None:
    """`check_output_path` for an optional --report file, whose suffix chooses its format:
    .html (or .htm) for the page, .pdf for the same report as PDF (engine.formats.report_pdf);
    any other is refused before any work is done."""
    if report is None:
        return
    report = Path(report)
    check_output_path(report, "report", example)  # what stands there first (a folder, a FIFO)
    if report.suffix.lower() not in (*HTML_SUFFIXES, *PDF_SUFFIXES):
        from engine.errors import InputError

        pdf = Path(example).with_suffix(".pdf").name
        raise InputError(f"the report {report} is neither .html nor .pdf; its suffix "
                         f"chooses its format: give a name ending in .html (a web "
                         f"page, such as {example}) or .pdf (such as {pdf}).",
                         "E_REPORT_FORMAT")


def owned_temp(path: Path, suffix: str = "tmp") -> tuple[int, Path]:
    """A new private temporary file beside `path`, named as this process's own (see the
    module docstring). Returns (fd, path)."""
    pid = os.getpid()
    ticks = start_token(pid).rsplit(":", 1)[-1] or "0"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.ratchet-{pid}-{ticks}.",
                               suffix=f".{suffix}", dir=path.parent)
    return fd, Path(tmp)


def replace_into(tmp: Path, path: Path) -> None:
    """Rename `tmp` over `path`, re-checking that `path` is still a new name or a regular file
    (it may have become a link or a device since the work began)."""
    check_output_path(path)
    os.replace(tmp, path)


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, fsync it, then rename it into place
    (first removing what stopped runs left in that folder)."""
    path = Path(path)
    check_output_path(path, "file", path.name)
    sweep_leftovers(path.parent)
    fd, tmp = owned_temp(path)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain write would have.
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        replace_into(tmp, path)
        sync_folder(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def leftovers(folder: Path) -> list[Path]:
    """Ratchet's own temporary files in `folder` whose process is gone (killed mid-write)."""
    found = []
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    for name in names:
        match = _LEFTOVER.match(name)
        if match is None:
            continue
        pid, ticks = int(match[1]), match[2]
        alive = pid_alive(pid)
        now_ticks = start_token(pid).rsplit(":", 1)[-1] if alive else ""
        if alive is False or (ticks != "0" and now_ticks and now_ticks != ticks):
            found.append(Path(folder) / name)  # gone, or the pid now belongs to another run
    return sorted(found)


def sweep_leftovers(folder: Path) -> list[Path]:
    """Remove `leftovers(folder)`; returns what was removed (never raises)."""
    removed = []
    for path in leftovers(folder):
        try:
            path.unlink()
        except OSError as exc:
            log.warning("could not remove the leftover %s: %s", path, exc)
            continue
        log.info("removed %s, left by a Ratchet run that was stopped", path)
        removed.append(path)
    return removed


def sync_folder(folder: Path) -> None:
    """Make a rename itself durable (POSIX); a no-op where folders cannot be opened."""
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


@contextlib.contextmanager
def exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file `lock_path` (created if missing, left in place)
    against every other process and open file, waiting for it as long as it takes. The
    lock dies with the holder, so a crash never leaves it taken."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock_wait(lock_path)
                fcntl.flock(fd, fcntl.LOCK_EX)
        else:  # pragma: no cover - Windows
            while True:
                try:
                    msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                    break
                except OSError:
                    continue
        yield
    finally:
        if fcntl is None:  # pragma: no cover - Windows
            with contextlib.suppress(OSError):
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        os.close(fd)


def lock_wait(lock_path: Path) -> None:
    """Called by exclusive_lock when another holder has the lock, just before waiting for it.
    Does nothing; a test replaces it to know a competing writer is waiting."""
    log.debug("waiting for %s", lock_path)
