"""A workspace with the shipped demo model installed, and ways to run the real command line on
it: in this process (so a test can put a fault hook at an exact step) or as a child process
(so a step can kill it outright)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from engine.ground.shipped import shipped_dir

DEMO_ID = "demo-flight-delay"
DEMO_VERSION = 2  # the shipped demo bundle's version (1 had calendar inputs; issue 14)
DEMO_LABEL = f"{DEMO_ID}@{DEMO_VERSION}"
DEMO_BUNDLE = shipped_dir("coefficients") / f"{DEMO_ID}-{DEMO_VERSION}.ratchet"
SAMPLE = shipped_dir("resources") / "samples" / "flights-2013-07-sample.csv"


def ratchet(root: Path, *args: str, kill_at: str | None = None, signal: str = "KILL",
            cwd: Path | None = None, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """`ratchet --workspace ROOT ARGS...` as a child process; `kill_at`: the fault step
    (engine.ground.faults) at which the child sends itself `signal` (KILL, TERM, INT, HUP)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATCHET_KILL_")}
    if kill_at:
        env["RATCHET_KILL_AT"] = kill_at
        env["RATCHET_KILL_SIGNAL"] = signal
    return subprocess.run([sys.executable, "-m", "engine.cli", "--workspace", str(root),
                           *args], capture_output=True, env=env, cwd=cwd, input=stdin,
                          timeout=300)


def in_process(root: Path, capsys, *args: str) -> tuple[int, str, str]:
    """The same in this process: (exit code, stdout, stderr)."""
    from engine.cli import main

    code = main(["--workspace", str(root), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def demo_workspace(root: Path) -> Path:
    """A workspace at `root` with the demo model installed and active."""
    from engine.registry.registry import Registry, read_bundle_file

    with Registry.open(root) as registry:
        registry.import_bundle(read_bundle_file(DEMO_BUNDLE))
    return root


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def provenance(output: Path) -> dict:
    return json.loads(Path(str(output) + ".provenance.json").read_text())


def doctor(root: Path) -> dict:
    """`ratchet doctor --json` in a child process: its JSON result (exit code as "exit")."""
    done = ratchet(root, "--json", "doctor")
    result = json.loads(done.stdout)
    result["exit"] = done.returncode
    return result


def garble_a_page(root: Path, table: str) -> None:
    """Overwrite the first bytes of `table`'s root page in the workspace database at `root`
    (after folding the WAL in): one garbled page, as a failing disk leaves it."""
    import sqlite3

    conn = sqlite3.connect(Path(root) / "ratchet.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?",
                        (table,)).fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(Path(root) / "ratchet.db", "r+b") as fh:
        fh.seek((page - 1) * size)
        fh.write(b"\xff" * 64)
