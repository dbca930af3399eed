"""What every report says about itself (issue 14): when it was run and by whom, on which
workstation, with which Ratchet, and which bundle each model came from (its sha256, read from
the workspace's record of installed bundles), so a report found later can be traced."""

from __future__ import annotations

import html
import socket
from collections.abc import Iterable
from pathlib import Path

import engine
from engine.ground.clock import current_user, now_text

STYLE = ".stamp{color:#555;font-size:.9em;margin-top:0}"


def bundle_hashes(workspace: Path | None, labels: Iterable[str]) -> dict[str, str]:
    """label ("ID@V") -> the installed bundle's sha256; labels not installed are left out (a
    challenger given as a bundle file, a workspace not given)."""
    wanted = [label for label in dict.fromkeys(labels) if "@" in label]
    if workspace is None or not wanted:
        return {}
    from engine.ground.database import connect
    from engine.ground.paths import Workspace

    db_path = Workspace(Path(workspace)).database
    if not db_path.is_file():
        return {}
    conn = connect(db_path)
    try:
        found = {}
        for label in wanted:
            model_id, _, version = label.rpartition("@")
            if not version.isdigit():
                continue
            row = conn.execute("SELECT bundle_sha256 FROM installed WHERE model_id=? AND "
                               "version=?", (model_id, int(version))).fetchone()
            if row is not None:
                found[label] = row["bundle_sha256"]
        return found
    finally:
        conn.close()


def stamp_html(labels: Iterable[str], workspace: Path | None = None,
               known: dict[str, str] | None = None) -> str:
    """``known``: bundle hashes the caller already has (a gate's candidate, not installed)."""
    labels = [label for label in dict.fromkeys(labels) if label]
    hashes = {**bundle_hashes(workspace, labels), **(known or {})}
    models = "; ".join(
        html.escape(label) + (f" (bundle sha256 {hashes[label]})" if label in hashes else "")
        for label in labels)
    return (f"<p class=stamp>Run {html.escape(now_text())} by {html.escape(current_user())} "
            f"on {html.escape(socket.gethostname())} with Ratchet {engine.__version__}"
            + (f". Models: {models}" if models else "") + ".</p>")


def stamped(page: str, labels: Iterable[str], workspace: Path | None = None,
            known: dict[str, str] | None = None) -> str:
    """The report with its stamp under the title (and the stamp's style)."""
    stamp = stamp_html(labels, workspace, known)
    page = page.replace("</style>", STYLE + "</style>", 1)
    at = page.find("</h1>")
    if at < 0:
        at = page.find("<body>") + len("<body>") - len("</h1>")
    at += len("</h1>")
    return page[:at] + stamp + page[at:]
