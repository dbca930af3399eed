"""The PyInstaller step: dist/ratchet/ from installer/ratchet.spec, reused while its inputs are
unchanged.

The inputs are fingerprinted by content (the app's code and shipped files, the spec and these
scripts, the lock file, the Python and every installed distribution's version), which also
holds after a fresh clone, where file times say nothing.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import shutil
import subprocess
import sys
import time
from pathlib import Path

from installer import elf

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
APP_DIR = DIST / "ratchet"
WORK = ROOT / "build" / "pyinstaller"
STAMP = ROOT / "build" / "installer" / "freeze.sha256"
SPEC = ROOT / "installer" / "ratchet.spec"
INPUTS = ("engine/**/*.py", "engine/model/_tree_aot.*", "engine/explain/_shap_aot.*",
          "engine/backtest/_resample_aot.*", "engine/batch/_records_aot.*", "gui/**/*.py",
          "coefficients/*.ratchet", "coefficients/trust.json",
          "coefficients/demo-publisher.pub", "resources/icons/*", "resources/samples/*",
          "installer/ratchet.spec", "installer/frozen_entry.py", "installer/freeze.py",
          "installer/elf.py", "requirements/lock.txt", "pyproject.toml")


def executable_name() -> str:
    return "ratchet.exe" if sys.platform == "win32" else "ratchet"


def fingerprint() -> str:
    digest = hashlib.sha256()
    for pattern in INPUTS:
        for path in sorted(ROOT.glob(pattern)):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0")
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(sys.version.encode())
    # A set: a checkout's ratchet.egg-info is listed once per sys.path entry that reaches it
    # (the current folder, the repository root), which differ between callers.
    installed = sorted({f"{d.metadata['Name']}=={d.version}"
                        for d in importlib.metadata.distributions()})
    digest.update("\n".join(installed).encode())
    return digest.hexdigest()


def built_from() -> str:
    """The fingerprint of the inputs that dist/ratchet/ was built from."""
    return STAMP.read_text().strip()


def is_current() -> bool:
    """True when dist/ratchet/ was built from exactly the current inputs."""
    return ((APP_DIR / executable_name()).is_file() and STAMP.is_file()
            and built_from() == fingerprint())


def freeze(force: bool = False, log=print) -> Path:
    """Build dist/ratchet/ unless it is current; returns it."""
    if not force and is_current():
        log(f"reusing {APP_DIR.relative_to(ROOT)} (its inputs are unchanged)")
        return APP_DIR
    if importlib.util.find_spec("PyInstaller") is None:
        raise SystemExit("installer: PyInstaller is not installed in this Python "
                         f"({sys.executable}); run `make setup` (it installs "
                         "requirements/lock.txt) or pip install pyinstaller.")
    linux = sys.platform.startswith("linux")
    if linux and (shutil.which("strip") is None or shutil.which("readelf") is None):
        raise SystemExit("installer: `strip` and `readelf` are missing; install binutils "
                         "(apt-get install binutils).")
    inputs = fingerprint()  # taken first: a file edited during the build makes it stale
    STAMP.unlink(missing_ok=True)
    started = time.monotonic()
    log("PyInstaller: building dist/ratchet/ (1-2 minutes)...")
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
           "--distpath", str(DIST), "--workpath", str(WORK), str(SPEC)]
    subprocess.run(cmd, cwd=ROOT, check=True)
    if linux:
        saved = elf.strip_libraries(APP_DIR)
        log(f"stripped symbol tables: {saved / 2**20:.0f} MiB saved")
    STAMP.parent.mkdir(parents=True, exist_ok=True)
    STAMP.write_text(inputs + "\n")
    log(f"PyInstaller step took {time.monotonic() - started:.0f} s")
    return APP_DIR
