"""Start-up of the everyday commands and of the app, against their floors (issue 16).

Each figure is the wall-clock time of a whole child process, as an operator or a nightly job
sees it. In one run, the rows and the columns alternate, repeat after repeat, and each figure is
the median of its repeats, so that load on the machine falls on all of them alike:

  floor            python -c "import numpy, pyarrow.csv"  (the command-line rows' floor)
  --help           ratchet --help
  models list      ratchet models list                     (a workspace with the demo model)
  predict, warm    ratchet predict SAMPLE -o OUT           (2,000 rows; numba's cache as left)
  predict, first   the same with an empty numba cache      (NUMBA_CACHE_DIR: a new folder)
  regress          ratchet regress                         (the demo model's suite)
  nowtest          ratchet nowtest SAMPLE
  bare window      a bare PySide6 window shown and closed  (the app rows' floor)
  app ready, first ratchet gui --smoke 0 on a new workspace, empty caches: the process ends
                   once the workspace is opened (demo installed) and the pages are built
  app ready, later the same again on that workspace
  app window, ...  `ratchet gui` as an operator launches it (it first looks for an app already
                   running on the workspace), on a new workspace / that one again, ending as
                   soon as the main window is shown (RATCHET_SMOKE_AT=shown; the workspace is
                   opened after that, in the background)

"Their own work" (models list, regress, nowtest): the same command timed inside a process that
has already run it once (so everything it imports is loaded) on a fresh copy of the workspace,
with the in-memory fit of the multivariate drift dropped first: what the command computes and
reads, without the interpreter's start and the imports. It is measured on this checkout's code
and used as the frozen column's too (the same code). Those rows print their bar in seconds,
2 x floor + work, and the time as a share of it.

Columns: this source checkout (its `ratchet` entry point); the frozen app in dist/ratchet/ when
it is built (else a note); and, with --before DIR, another checkout of Ratchet (a `git worktree`
of an earlier commit) run by this interpreter with DIR's packages in place of this checkout's,
for before/after figures in one run. The bars (issue 16, a benchmark, not a test): predict warm
<= 2x the floor, first <= 3x; models list, regress and nowtest <= 2x the floor plus their own
work; the app's window <= 1.5x the bare window, first start included. The OS file cache is not
dropped: "first" means a new workspace and empty compiler caches, not a cold disk.

    .venv/bin/python bench/startup.py [--repeats N] [--before DIR] [--no-app]
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "resources" / "samples" / "flights-2013-07-sample.csv"
FROZEN = ROOT / "dist" / "ratchet" / ("ratchet.exe" if sys.platform == "win32" else "ratchet")
FLOOR = [sys.executable, "-c", "import numpy, pyarrow.csv"]
BARE_WINDOW = [sys.executable, "-c", (
    "from PySide6.QtCore import QTimer\n"
    "from PySide6.QtWidgets import QApplication, QMainWindow\n"
    "app = QApplication([])\nw = QMainWindow()\nw.resize(1100, 720)\nw.show()\n"
    "QTimer.singleShot(0, app.quit)\napp.exec()\n")]
# A command's own work: run once to import everything it needs, then timed on a new copy of
# the workspace (argv: workspace, scratch folder, the command's arguments).
WORK = """
import contextlib, io, shutil, sys, time
from gui.launcher import one_blas_thread
one_blas_thread()  # as `ratchet` runs
from engine.cli import main
from engine.nowtest import multivariate_scan
workspace, scratch, args = sys.argv[1], sys.argv[2], sys.argv[3:]
def once(copy):
    shutil.copytree(workspace, copy)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        started = time.perf_counter()
        try:
            main(['--workspace', copy, *args])
        except SystemExit:
            pass
        return time.perf_counter() - started
once(scratch + '/warm')
multivariate_scan._CACHE.clear()
print(once(scratch + '/timed'))
"""
WORK_ROWS = {"models list": ["models", "list"], "regress": ["regress"],
             "nowtest": ["nowtest", str(SAMPLE)]}
LAUNCH = "import sys; from gui.launcher import main; sys.argv[0] = 'ratchet'; sys.exit(main())"
# Another checkout, run by this interpreter: its folder first on the path, and this checkout's
# editable-install finder (which would map `engine` and `gui` here) taken out.
LAUNCH_FROM = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path if not "
               "type(f).__module__.startswith('__editable__')]; sys.path.insert(0, {root!r}); "
               + LAUNCH)

# (row, what it is measured against, bar as a multiple of that floor or None)
ROWS = [("floor", None, None), ("--help", "floor", None), ("models list", "floor", 2.0),
        ("predict, warm", "floor", 2.0), ("predict, first", "floor", 3.0),
        ("regress", "floor", 2.0), ("nowtest", "floor", 2.0),
        ("bare window", None, None), ("app ready, first", "bare window", None),
        ("app ready, later", "bare window", None), ("app window, first", "bare window", 1.5),
        ("app window, later", "bare window", 1.5)]
APP_ROWS = {"bare window", "app window, first", "app window, later", "app ready, first",
            "app ready, later"}


class Column:
    """One way of running `ratchet`, with its own scratch folder and workspace."""

    def __init__(self, name: str, prefix: list[str], scratch: Path, env: dict | None = None,
                 root: Path = ROOT):
        self.name, self.prefix, self.scratch, self.root = name, prefix, scratch, root
        self.env = {**base_env(scratch), **(env or {})}
        self.workspace = scratch / "workspace"
        self.fresh = 0

    def new_dir(self, stem: str) -> Path:
        self.fresh += 1
        path = self.scratch / f"{stem}-{self.fresh}"
        path.mkdir()
        return path

    def setup(self) -> None:
        bundle = sorted((self.root / "coefficients").glob("demo-flight-delay-*.ratchet"))[-1]
        run([*self.prefix, "--workspace", str(self.workspace), "models", "import", str(bundle)],
            self.env, ok=(0,))
        run([*self.prefix, "--workspace", str(self.workspace), "predict", str(SAMPLE), "-o",
             str(self.scratch / "warm.csv")], self.env, ok=(0, 1))

    def command(self, row: str) -> tuple[list[str], dict]:
        ws = ["--workspace", str(self.workspace)]
        out = str(self.scratch / "out.csv")
        if row == "floor":
            return FLOOR, self.env
        if row == "bare window":
            return BARE_WINDOW, self.env
        if row == "--help":
            return [*self.prefix, "--help"], self.env
        if row == "models list":
            return self.prefix + ws + ["models", "list"], self.env
        if row == "predict, warm":
            return self.prefix + ws + ["predict", str(SAMPLE), "-o", out], self.env
        if row == "predict, first":
            cache = self.new_dir("numba-cache")
            return (self.prefix + ws + ["predict", str(SAMPLE), "-o", out],
                    {**self.env, "NUMBA_CACHE_DIR": str(cache), "XDG_CACHE_HOME": str(cache)})
        if row == "regress":
            return self.prefix + ws + ["regress"], self.env
        if row == "nowtest":
            return self.prefix + ws + ["nowtest", str(SAMPLE)], self.env
        # "window": the process ends as soon as the main window is shown (RATCHET_SMOKE_AT);
        # "ready": `--smoke 0`, once the workspace is opened and the pages are built.
        # "later" rows use the workspace the last "app ready, first" opened.
        # A window row launches as an operator does (no --smoke, so the launch first looks
        # for an app already running on the workspace, gui/instance_name.py).
        gui = ["gui"] if row.startswith("app window") else ["gui", "--smoke", "0"]
        if row in ("app window, first", "app ready, first"):
            fresh = self.new_dir("app-workspace")
            if row == "app ready, first":
                self.app_ws = fresh
            cache = self.new_dir("app-cache")
            env = {**self.env, "NUMBA_CACHE_DIR": str(cache), "XDG_CACHE_HOME": str(cache)}
            if row == "app window, first":
                env["RATCHET_SMOKE_AT"] = "shown"
            return [*self.prefix, "--workspace", str(fresh), *gui], env
        if row in ("app window, later", "app ready, later"):
            env = {**self.env, "RATCHET_SMOKE_AT": "shown"} if row == "app window, later" \
                else self.env
            return [*self.prefix, "--workspace", str(self.app_ws), *gui], env
        raise ValueError(row)


def base_env(scratch: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RATCHET_", "NUMBA_CACHE_DIR", "PYTHONPATH"))}
    env["RATCHET_CONFIG_DIR"] = str(scratch / "config")
    env["XDG_CACHE_HOME"] = str(scratch / "cache")
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def run(cmd: list[str], env: dict, ok=(0, 1)) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL, cwd=ROOT)
    took = time.perf_counter() - started
    if done.returncode not in ok:
        raise SystemExit(f"bench/startup.py: {' '.join(cmd)} exited {done.returncode}:\n"
                         f"{done.stderr[-2000:]}")
    return took


def work(col: Column, row: str) -> float:
    """The command's own work, in seconds (see WORK)."""
    folder = col.new_dir("work")
    done = subprocess.run([sys.executable, "-c", WORK, str(col.workspace), str(folder),
                           *WORK_ROWS[row]], env=col.env, capture_output=True, text=True,
                          timeout=600, stdin=subprocess.DEVNULL, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"bench/startup.py: the own work of {row!r} failed:\n"
                         f"{done.stderr[-2000:]}")
    shutil.rmtree(folder, ignore_errors=True)
    return float(done.stdout.strip().splitlines()[-1])


def columns(scratch: Path, before: Path | None) -> tuple[list[Column], list[str]]:
    notes = []
    entry = Path(sys.executable).with_name("ratchet")
    prefix = [str(entry)] if entry.is_file() else [sys.executable, "-c", LAUNCH]
    cols = [Column("source", prefix, scratch / "source")]
    if FROZEN.is_file():
        cols.append(Column("frozen", [str(FROZEN)], scratch / "frozen"))
        sys.path.insert(0, str(ROOT))
        from installer import freeze

        if not freeze.is_current():
            notes.append("frozen: dist/ratchet/ was built from other sources than these "
                         "(`make installer` rebuilds it)")
    else:
        notes.append("frozen: no app in dist/ (`make installer` builds it); column skipped")
    if before is not None:
        root = before.resolve()
        cols.append(Column("before", [sys.executable, "-c", LAUNCH_FROM.format(root=str(root))],
                           scratch / "before", root=root))
    for col in cols:
        col.scratch.mkdir(parents=True)
    return cols, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/startup.py",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--before", type=Path, metavar="DIR",
                        help="another checkout of Ratchet to measure beside this one")
    parser.add_argument("--no-app", action="store_true", help="command-line rows only")
    args = parser.parse_args(argv)
    rows = [r for r in ROWS if not (args.no_app and r[0] in APP_ROWS)]
    scratch = Path(tempfile.mkdtemp(prefix="ratchet-startup-"))
    try:
        cols, notes = columns(scratch, args.before)
        # Bytecode as an installed package has it (pip and the frozen app compile it): a
        # checkout without __pycache__ (or with PYTHONDONTWRITEBYTECODE) would otherwise
        # compile every module in every process and measure that instead.
        for root in {ROOT, *(c.root for c in cols)}:
            compileall.compile_dir(str(root / "engine"), quiet=1)
            compileall.compile_dir(str(root / "gui"), quiet=1)
        for col in cols:
            col.setup()
        times: dict[tuple[str, str], list[float]] = {}
        for repeat in range(args.repeats):
            print(f"repeat {repeat + 1} of {args.repeats}...", file=sys.stderr, flush=True)
            for row, _, _ in rows:
                for col in cols:
                    if row in ("floor", "bare window") and col is not cols[0]:
                        continue  # one floor for all columns, measured in the same rotation
                    cmd, env = col.command(row)
                    times.setdefault((row, col.name), []).append(run(cmd, env))
                if row in WORK_ROWS:
                    times.setdefault((row, "work"), []).append(work(cols[0], row))
        report(rows, cols, times, notes, args.repeats)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def report(rows, cols, times, notes, repeats) -> None:
    median = {k: statistics.median(v) for k, v in times.items()}
    floor_of = {row: median[(row, cols[0].name)] for row in ("floor", "bare window")
                if (row, cols[0].name) in median}
    print(f"Start-up, whole processes, median of {repeats} alternating runs "
          f"({os.cpu_count()} cores; Python {sys.version.split()[0]}):")
    head = f"{'':18}" + "".join(f"{c.name:>18}" for c in cols) + "   bar"
    print(head)
    for row, against, bar in rows:
        cells = []
        for col in cols:
            key = (row, cols[0].name if row in floor_of else col.name)
            if key not in median:
                cells.append(f"{'-':>18}")
                continue
            t = median[key]
            ratio = f" ({t / floor_of[against]:.1f}x)" if against in floor_of else ""
            if (row, "work") in median:  # the bar in seconds: 2 x floor + own work
                ratio = f" ({t / (bar * floor_of[against] + median[(row, 'work')]):.2f})"
            cells.append(f"{t:>11.2f} s{ratio:>5}" if ratio else f"{t:>16.2f} s")
        limit = f"<= {bar:g}x {against}" if bar else ""
        if (row, "work") in median:
            w = median[(row, "work")]
            limit = (f"<= {bar:g}x {against} + own work {w:.2f} s = "
                     f"{bar * floor_of[against] + w:.2f} s (share of it in brackets)")
        print(f"{row:18}" + "".join(f"{c:>18}" for c in cells) + f"   {limit}")
    for note in notes:
        print(f"note: {note}")


if __name__ == "__main__":
    sys.exit(main())
