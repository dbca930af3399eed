"""A batch's output, its provenance and its history row appear together.

A file system and a database cannot commit in one step, so the batch goes through a state that
a later run can finish or undo:

1. the output is complete in its temporary file (engine.batch.score);
2. the history row is committed as `pending`, naming the output's sha256 and the process;
3. holding the database's write lock (so two predicts to one output cannot interleave), the
   output and then its provenance are renamed into place and the row becomes `done`.

A process killed after 2 leaves a `pending` row. `reconcile_batches` (run by the next predict
and by `ratchet doctor`) settles each one whose process is gone: when the file at the output
path is the one it wrote (same sha256), the provenance is rewritten from the row and the row
becomes `done`; otherwise the output never appeared and the row becomes `failed`. A failure
the process sees itself (a locked database, a full disk) is reported saying what exists.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import sqlite3
from pathlib import Path

from engine.batch.result import BatchResult, provenance_bytes, provenance_path
from engine.ground import faults
from engine.ground.clock import current_user
from engine.ground.database import write_transaction
from engine.ground.environment import EnvironmentProblem, environment_problem
from engine.ground.fileio import (
    check_output_path,
    owned_temp,
    replace_into,
    sync_folder,
    write_atomic,
)
from engine.ground.process_identity import HOST, owner_alive, start_token

log = logging.getLogger(__name__)

PENDING, DONE, FAILED = "pending", "done", "failed"


def _owner() -> str:
    return f"{HOST} {os.getpid()} {start_token(os.getpid())}"


def commit_output(db: sqlite3.Connection, result, tmp: Path):
    """Record `result` (a BatchResult whose output is complete in `tmp`) and put the output
    and its provenance in place (see the module docstring). Returns the result with its
    `batch_id`."""
    output = Path(result.output)
    database = _database_path(db)
    check_output_path(output)  # again: it may have become a link or a device meanwhile
    try:
        with write_transaction(db):
            batch_id = record_batch(db, result, PENDING, _owner())
    except sqlite3.Error as exc:
        _raise_as_problem(exc, database, f"Nothing was written: {output} was not put in "
                          "place.")
    faults.step("predict.pending-recorded")
    result = dataclasses.replace(result, batch_id=batch_id)
    fd, prov_tmp = owned_temp(provenance_path(output))
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(provenance_bytes(result))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(prov_tmp, 0o644)
        try:
            with write_transaction(db):
                replace_into(tmp, output)
                faults.step("predict.output-in-place")
                replace_into(prov_tmp, provenance_path(output))
                sync_folder(output.parent)
                faults.step("predict.provenance-in-place")
                db.execute("UPDATE batches SET state = ? WHERE id = ?", (DONE, batch_id))
        except (OSError, sqlite3.Error) as exc:
            _raise_as_problem(exc, database, _what_exists(output, tmp, prov_tmp, batch_id),
                              output)
    except BaseException:
        prov_tmp.unlink(missing_ok=True)
        if tmp.exists():  # the output never appeared: say so on the record if we still can
            _mark_failed(db, batch_id)
        raise
    return result


def _what_exists(output: Path, tmp: Path, prov_tmp: Path, batch_id: int) -> str:
    if tmp.exists():
        return f"Nothing was written: {output} was not put in place."
    if prov_tmp.exists():
        return (f"{output} was written, but not its provenance; the history row (batch "
                f"{batch_id}) stays pending, and the next run or `ratchet doctor --repair` "
                "writes the provenance and completes it.")
    return (f"{output} and its provenance were written, but their history row (batch "
            f"{batch_id}) is still pending; the next run or `ratchet doctor --repair` "
            "completes it.")


def _raise_as_problem(exc: Exception, database, what: str, path=None) -> None:
    """Raise the failure as one paragraph naming the path and the fix, then what exists now
    (a failure that is not the machine's is raised as it is)."""
    problem = environment_problem(exc, path=path, database=database)
    if problem is None:
        raise exc
    raise EnvironmentProblem(f"{problem.message} {what}", problem.code, problem.path) from exc


def _mark_failed(db: sqlite3.Connection, batch_id: int) -> None:
    try:
        with write_transaction(db):
            db.execute("UPDATE batches SET state = ? WHERE id = ? AND state = ?",
                       (FAILED, batch_id, PENDING))
    except sqlite3.Error:
        log.warning("batch %s stays pending; the next run settles it", batch_id)


def _database_path(db: sqlite3.Connection) -> str | None:
    row = db.execute("PRAGMA database_list").fetchone()
    return row[2] if row is not None else None


def _sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def _owner_gone(owner: str) -> bool:
    host, _, rest = owner.partition(" ")
    pid, _, started = rest.partition(" ")
    if host != HOST or not pid.isdigit():
        return False  # another machine's run (a shared folder): never judged from here
    return owner_alive(int(pid), started) is False


def pending_batches(db: sqlite3.Connection) -> list[dict]:
    """Pending rows whose process is gone (a kill between steps 2 and 3)."""
    rows = db.execute("SELECT * FROM batches WHERE state = ? ORDER BY id", (PENDING,))
    return [dict(r) for r in rows if _owner_gone(r["owner"])]


def reconcile_batches(db: sqlite3.Connection) -> list[str]:
    """Settle the pending rows of processes that are gone; returns a sentence for each."""
    said = []
    fields = [f.name for f in dataclasses.fields(BatchResult)]
    for row in pending_batches(db):
        output = Path(row["output"])
        result = BatchResult(**{k: row[k] for k in fields if k in row}, batch_id=row["id"])
        with write_transaction(db):
            if db.execute("SELECT state FROM batches WHERE id = ?",
                          (row["id"],)).fetchone()[0] != PENDING:
                continue  # another run settled it meanwhile
            if _sha256(output) == row["output_sha256"]:
                write_atomic(provenance_path(output), provenance_bytes(result))
                db.execute("UPDATE batches SET state = ? WHERE id = ?", (DONE, row["id"]))
                said.append(f"batch {row['id']}: {output} was in place; its provenance was "
                            "rewritten and the batch recorded as done")
            else:
                db.execute("UPDATE batches SET state = ? WHERE id = ?", (FAILED, row["id"]))
                said.append(f"batch {row['id']}: its run was stopped before {output} was "
                            "written; recorded as failed (the output there, if any, is not "
                            "from that run)")
    for sentence in said:
        log.info("%s", sentence)
    return said


def record_batch(conn: sqlite3.Connection, result, state: str = "done", owner: str = "") -> int:
    """Store a prediction batch (an engine.batch.score.BatchResult); see engine.batch.commit
    for `state` and `owner`."""
    cur = conn.execute(
        "INSERT INTO batches (model, bundle_sha256, input, input_sha256, output, rows, ok, "
        "rejected, started, finished, user, app_version, state, output_sha256, owner) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (result.model, result.bundle_sha256, result.input, result.input_sha256,
         result.output, result.rows, result.ok, result.rejected, result.started,
         result.finished, current_user(), result.app_version, state,
         result.output_sha256, owner))
    return int(cur.lastrowid)
