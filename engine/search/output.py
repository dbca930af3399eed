"""The output folder of a search appears whole or not at all: every file is written into a
hidden staging folder beside it, which is renamed into place at the end. A failure or Ctrl-C
removes the staging folder and leaves OUTDIR as it was (absent, or empty)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from engine.errors import InputError


def check_output_folder(out: Path) -> None:
    """Refuse early (before any work) an output folder that cannot be used."""
    if not out.parent.is_dir():
        raise InputError(f"the folder {out.parent} (where {out.name} would go) does not exist; "
                         "create it or choose another -o folder.", "E_OUTPUT")
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} exists and is not a folder; choose another -o folder.",
                         "E_OUTPUT")
    if out.is_dir() and any(out.iterdir()):
        raise InputError(f"the output folder {out} exists and is not empty; choose a new folder "
                         "(each search writes its own) or empty it.", "E_OUTPUT")


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def write_folder(out: Path, files: dict[str, bytes]) -> None:
    """Write `files` (relative path -> bytes) as the folder `out`, atomically."""
    check_output_folder(out)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        for name, data in files.items():
            _write(staging / name, data)
        os.chmod(staging, 0o755)  # mkdtemp makes it private; give it a plain folder's mode
        if out.is_dir():
            out.rmdir()  # empty (checked above); rename cannot replace it everywhere
        os.rename(staging, out)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
        raise
