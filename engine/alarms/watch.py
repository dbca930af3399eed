"""A watch-folder file that could not be now-tested is an alarm of its own (kind "watch"):
announced, e-mailed and acknowledged like the others, and de-duplicated the same way -- while
it is open, another file of the same folder failing for the same reason (the same error code)
is a repeat that counts, not a new alarm."""

from __future__ import annotations

from pathlib import Path

from engine.nowtest.result import AlarmReason

KIND = "watch"
MODEL = "watch folder"  # the alarm's model column when the folder has no model of its own


def watch_reason(folder: str | Path, path: str | Path, error: str,
                 code: str | None) -> AlarmReason:
    """The alarm reason for a file of `folder` that failed with `error` (its code, when the
    error had one): its subject is the folder and the code, its message names the file."""
    reason = code or "E_FAILED"
    message = (f"The watch folder {folder} could not now-test {Path(path).name}: {error} "
               "The file is marked failed and not tried again; put it right and save it into "
               "the folder again.")
    return AlarmReason(KIND, f"{folder} ({reason})", None, None, message)
