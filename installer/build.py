"""Build the installer: `python installer/build.py [--force]` (`make installer` runs it).

0. engine/model/_tree_aot, engine/explain/_shap_aot, engine/backtest/_resample_aot and
   engine/batch/_records_aot: the tree, explanation, bootstrap and quoted-CSV kernels compiled
   ahead of time (installer/kernels.py), which the app ships so that its first prediction,
   explanation or back-test compiles nothing;
1. dist/ratchet/: the one-folder app from installer/ratchet.spec (PyInstaller), skipped while
   its inputs are unchanged (see installer/freeze.py);
2. on Linux, dist/ratchet_<version>_amd64.deb from it (see installer/deb.py).

The Windows installer script, installer/ratchet.iss, is compiled on Windows with Inno Setup
over the dist\\ratchet\\ that step 1 makes there; it is not built here.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

from installer import deb, freeze, kernels


def _size_mib(path: Path) -> float:
    files = path.rglob("*") if path.is_dir() else [path]
    return sum(p.lstat().st_size for p in files if p.is_file() and not p.is_symlink()) / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="installer/build.py", description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if nothing changed")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # our lines in order with PyInstaller's output
    started = time.monotonic()
    if kernels.main([]) != 0:
        return 1
    app_dir = freeze.freeze(force=args.force)
    print(f"app folder: {app_dir} ({_size_mib(app_dir):.0f} MiB)")
    if sys.platform.startswith("linux"):
        package = deb.build_deb(app_dir, freeze.built_from(), force=args.force)
        print(f"package: {package} ({_size_mib(package):.0f} MiB)")
    print(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
