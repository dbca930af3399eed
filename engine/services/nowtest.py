"""Now-test a file, record it, raise its alarms, e-mail the new ones and repeat it in a running
trial's shadow: the one path shared by `ratchet nowtest`, the folder watcher (`ratchet watch`
and the app's) and the app's Monitor page.

The now-test record and its alarms are written in one transaction, so a process killed at any
point leaves both or neither. The e-mail comes after the commit: a failure to send is recorded
on the alarms and logged, and never loses the now-test or the alarms.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from engine.alarms.store import Alarm, get_alarm, mark_emailed, raise_in_transaction
from engine.ground.database import write_transaction
from engine.nowtest.result import NowtestResult
from engine.nowtest.store import insert_nowtest
from engine.progress import CancelToken, Progress, no_progress

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MonitorOutcome:
    result: NowtestResult
    nowtest_id: int
    new_alarms: list[Alarm] = field(default_factory=list)
    email_error: str | None = None  # why the e-mail about the new alarms was not sent

    def to_json(self) -> dict:
        """`ratchet nowtest --json`: the now-test's document plus its record and alarms."""
        return {**self.result.to_json(), "nowtest_id": self.nowtest_id,
                "new_alarms": [a.to_json() for a in self.new_alarms],
                "email_error": self.email_error}


def record_and_raise(conn, result: NowtestResult, source: str) -> tuple[int, list[Alarm]]:
    """Store the now-test and raise its alarms in one transaction; (now-test id, new alarms)."""
    with write_transaction(conn):
        nowtest_id = insert_nowtest(conn, result, source)
        new = raise_in_transaction(conn, result.model, nowtest_id, result.reasons)
    return nowtest_id, new


def email_new_alarms(conn, root, alarms: list[Alarm], ssl_context=None) -> str | None:
    """E-mail the alarms when e-mail is configured; the error text when sending failed (it is
    also recorded on the alarms). Never raises: the alarms are already safely stored."""
    from engine.alarms.email import email_configured, send_alarm_email
    from engine.ground.settings import load_settings

    if not alarms:
        return None
    try:
        settings = load_settings(root)
        if not email_configured(settings):
            return None
        send_alarm_email(settings, alarms, ssl_context=ssl_context)
    except Exception as exc:  # an e-mail problem must not undo or hide the now-test
        error = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        log.warning("the alarm e-mail about alarm(s) %s was not sent: %s",
                    ", ".join(str(a.id) for a in alarms), error)
        mark_emailed(conn, [a.id for a in alarms], error=error)
        return error
    mark_emailed(conn, [a.id for a in alarms])
    return None


def nowtest_and_alarm(root, path, model_ref: str | None = None, source: str = "cli",
                      progress: Progress = no_progress, cancel: CancelToken | None = None,
                      *, ssl_context=None, watch_folder=None,
                      segments: list[str] | tuple[str, ...] = ()) -> MonitorOutcome:
    """Now-test the CSV at `path` with the model `model_ref` (None: the one active model
    whose inputs the file's header covers) of the workspace at `root`, record it, raise its
    alarms, e-mail the new ones. `watch_folder`: the folder the file came in, bound to
    `model_ref`: a file lacking that model's inputs is refused naming all three
    (E_WATCH_WRONG_MODEL). `segments`: category inputs to break the now-test down by
    (engine.services.segments; requirements that apply to "segment" add theirs)."""
    from engine.registry.choice import model_for_file
    from engine.registry.registry import Registry
    from engine.services.segments import nowtest_segmented
    from engine.trial.shadow import shadow_nowtest

    registry = Registry.open(root)
    try:
        if watch_folder is not None and model_ref is not None:
            check_bound_model(registry, watch_folder, Path(path), model_ref)
        model_ref = model_for_file(registry, path, model_ref)  # None: the only active one
        result = nowtest_segmented(registry, Path(path), model_ref, segments, progress,
                                   cancel)
        nowtest_id, new = record_and_raise(registry.db, result, source)
        log.info("now-test %d of %s with %s: %d rows, %s", nowtest_id, path, result.model,
                 result.rows, f"{len(result.reasons)} alarm reason(s), {len(new)} new alarm(s)"
                 if result.alarm else "no alarm")
        email_error = email_new_alarms(registry.db, registry.ws.root, new, ssl_context)
        new = [get_alarm(registry.db, a.id) or a for a in new]  # as stored: e-mail state
        shadow_nowtest(registry, result, nowtest_id)  # a running trial's challenger; never raises
    finally:
        registry.close()
    return MonitorOutcome(result, nowtest_id, new, email_error)


def check_bound_model(registry, folder, path: Path, model_id: str) -> None:
    """A file in a folder bound to `model_id` must have that model's inputs: else an
    InputError naming the folder, the model and the columns the file lacks."""
    from engine.batch.csv_input import open_csv
    from engine.errors import EngineError, InputError
    from engine.registry.choice import SHOWN_COLUMNS, deactivated_refusal, model_inputs

    model_id, _, named = model_id.partition("@")
    version = int(named) if named.isdigit() else registry.active_version(model_id)
    if version is None:
        refusal = deactivated_refusal(registry, model_id)
        raise refusal or InputError(
            f"the watch folder {folder} is bound to the model {model_id!r}, which is not "
            "installed; bind the folder to an installed model (`ratchet models list`) in "
            "Settings or with `ratchet settings set watch.folders`.", "E_MODEL_UNKNOWN")
    have = set(open_csv(path).header)
    try:
        inputs = model_inputs(registry, f"{model_id}@{version}")
    except EngineError:  # a version that is not installed: the now-test itself says so
        return
    missing = [c for c in inputs if c not in have]
    if missing:
        more = len(missing) - SHOWN_COLUMNS
        names = ", ".join(map(repr, missing[:SHOWN_COLUMNS])) + (
            f" and {more} more" if more > 0 else "")
        raise InputError(
            f"{path.name} came into the watch folder {folder}, which is bound to the model "
            f"{model_id}, but it lacks that model's input column(s) {names}. "
            "Put the file into the folder bound to its model, or bind this folder to another "
            "model in Settings (`ratchet settings set watch.folders`).", "E_WATCH_WRONG_MODEL")


@dataclass(frozen=True, slots=True)
class WatchFailure:
    """What a watch-folder file that could not be now-tested raised: its alarm when new (a
    repeat of an open one raises none), and why the e-mail about it was not sent."""

    new_alarms: list[Alarm] = field(default_factory=list)
    email_error: str | None = None


def alarm_watch_failure(root, folder, path, error: str, code: str | None,
                        model: str | None = None, *, ssl_context=None) -> WatchFailure:
    """Raise the "watch" alarm of a file of `folder` that failed (engine.alarms.watch:
    de-duplicated per folder and reason while open) and e-mail it when it is new. `model`:
    the model the folder is bound to (None: "watch folder")."""
    from engine.alarms.watch import MODEL, watch_reason
    from engine.registry.registry import Registry

    registry = Registry.open(root)
    try:
        with write_transaction(registry.db):
            new = raise_in_transaction(registry.db, model or MODEL, None,
                                       [watch_reason(folder, path, error, code)])
        log.warning("watch folder %s: %s failed (%s), %s", folder, path, code,
                    "a new alarm" if new else "a repeat of an open alarm")
        email_error = email_new_alarms(registry.db, registry.ws.root, new, ssl_context)
        new = [get_alarm(registry.db, a.id) or a for a in new]
    finally:
        registry.close()
    return WatchFailure(new, email_error)


def write_report(result: NowtestResult, path: Path, source: Path,
                 workspace: Path | None = None) -> Path:
    """The now-test's HTML report (PDF for .pdf), written atomically, stamped
    (engine.formats.report_stamp)."""
    from engine.formats.report_pdf import write_report_file
    from engine.formats.report_stamp import stamped
    from engine.nowtest.report import render

    title = f"Now-test of {result.model} on {Path(source).name}"
    page = stamped(render(result, title), [result.model], workspace)
    return write_report_file(page, Path(path))
