"""Failures caused by the machine, not by Ratchet: a full disk, a read-only folder, a missing
permission, a locked or damaged database. Each becomes one paragraph that names the path and
the fix (`EnvironmentProblem`); only what is none of these is a bug to report."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from engine.errors import EngineError

DOCTOR = "Run `ratchet doctor` to see what is wrong and `ratchet doctor --repair` to repair it"


class EnvironmentProblem(EngineError):
    """The machine stopped the work; `path` is what could not be used."""

    code = "E_ENVIRONMENT"

    def __init__(self, message: str, code: str, path: Path | str | None = None):
        super().__init__(message, code)
        self.path = None if path is None else str(path)


def _os_problem(exc: OSError, path) -> EnvironmentProblem | None:
    where = path or exc.filename or "a file"
    no = exc.errno
    if no in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return EnvironmentProblem(
            f"the disk holding {where} is full (or your quota is used up); free some space or "
            "choose another place, then try again.", "E_DISK_FULL", where)
    if no == errno.EROFS:
        return EnvironmentProblem(
            f"{where} is on a read-only file system; remount it writable or choose another "
            "place (for the workspace: --workspace DIR or RATCHET_HOME), then try again.",
            "E_READ_ONLY", where)
    if no in (errno.EACCES, errno.EPERM):
        return EnvironmentProblem(
            f"you do not have permission to write {where}; ask an administrator for access "
            "or choose a place you own (for the workspace: --workspace DIR or RATCHET_HOME).",
            "E_PERMISSION", where)
    if no == errno.EIO:
        return EnvironmentProblem(
            f"the disk reported an input/output error on {where}; check the disk (and its "
            "connection), then try again.", "E_DISK_ERROR", where)
    return None


def _sqlite_problem(exc: sqlite3.Error, database) -> EnvironmentProblem | None:
    text = str(exc).lower()
    where = database or "the workspace database"
    if "locked" in text or "busy" in text:
        return EnvironmentProblem(
            f"the workspace database {where} stayed locked by another program for over 30 "
            "seconds; let the other Ratchet run (or the app's long job) finish, or close it, "
            "then try again.", "E_DB_LOCKED", where)
    if "full" in text:
        return EnvironmentProblem(
            f"the disk holding the workspace database {where} is full; free some space, then "
            "try again.", "E_DISK_FULL", where)
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return EnvironmentProblem(
            f"the workspace database {where} cannot be written (a read-only folder or file, "
            "or no permission); give your user write access to the workspace folder or "
            "choose another one (--workspace DIR or RATCHET_HOME).", "E_READ_ONLY", where)
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return EnvironmentProblem(
            f"the workspace database {where} is damaged ({exc}). {DOCTOR}; it keeps the "
            "damaged file and rebuilds what it can.", "E_WORKSPACE_DB_DAMAGED", where)
    if "disk i/o" in text:
        return EnvironmentProblem(
            f"the disk reported an input/output error on the workspace database {where}; "
            "check the disk, then try again.", "E_DISK_ERROR", where)
    return None


def environment_problem(exc: BaseException, path: Path | str | None = None,
                        database: Path | str | None = None) -> EnvironmentProblem | None:
    """`exc` as an EnvironmentProblem, or None when the machine is not what failed.
    `path`: the file an OSError was about when it does not say; `database`: the SQLite file."""
    if isinstance(exc, EnvironmentProblem):
        return exc
    if isinstance(exc, sqlite3.Error):
        return _sqlite_problem(exc, database)
    if isinstance(exc, OSError):
        return _os_problem(exc, path)
    return None
