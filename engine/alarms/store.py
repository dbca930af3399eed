"""Alarms in the workspace history, de-duplicated: while an alarm is open (not acknowledged),
the same reason again -- same model, kind and subject -- is a repeat that counts
occurrences, not a new alarm, so one bad week is one alarm, not fifty. After acknowledgement
the next occurrence is a new alarm.

Raising happens in one BEGIN IMMEDIATE transaction, and a partial unique index allows only one
open alarm per (model, kind, subject), so two processes raising the same alarm at the same
moment make one row between them.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from engine.errors import InputError
from engine.ground.clock import current_user, now_text
from engine.ground.database import write_transaction
from engine.nowtest.result import AlarmReason


@dataclass(frozen=True, slots=True)
class Alarm:
    id: int
    model: str  # "ID@V"
    kind: str  # engine.nowtest.result.ALARM_KINDS
    subject: str  # the metric or the feature
    value: float | None  # the latest measured value
    bound: float | None  # the minimum / maximum / threshold it crossed
    message: str  # the latest occurrence's sentence
    occurrences: int
    first_at: str
    last_at: str
    first_nowtest: int | None
    last_nowtest: int | None
    acknowledged_at: str | None
    acknowledged_by: str | None
    emailed_at: str | None
    email_error: str | None

    @property
    def open(self) -> bool:
        return self.acknowledged_at is None

    def to_json(self) -> dict:
        doc = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
               for k, v in asdict(self).items()}
        return {**doc, "open": self.open}


_COLUMNS = ("id, model, kind, subject, value, bound, message, occurrences, first_at, last_at, "
            "first_nowtest, last_nowtest, acknowledged_at, acknowledged_by, emailed_at, "
            "email_error")


def _alarm(row: sqlite3.Row) -> Alarm:
    return Alarm(*(row[k] for k in _COLUMNS.split(", ")))


def get_alarm(conn: sqlite3.Connection, alarm_id: int) -> Alarm | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM alarms WHERE id = ?", (alarm_id,)).fetchone()
    return None if row is None else _alarm(row)


def raise_in_transaction(conn: sqlite3.Connection, model: str, nowtest_id: int | None,
                         reasons: Iterable[AlarmReason]) -> list[Alarm]:
    """raise_alarms' work, for a caller that already holds a write transaction."""
    at = now_text()
    new_ids = []
    for reason in reasons:
        updated = conn.execute(
            "UPDATE alarms SET occurrences = occurrences + 1, last_at = ?, last_nowtest = ?, "
            "value = ?, bound = ?, message = ? WHERE model = ? AND kind = ? AND subject = ? "
            "AND acknowledged_at IS NULL",
            (at, nowtest_id, reason.value, reason.bound, reason.message, model, reason.kind,
             reason.subject)).rowcount
        if updated:
            continue
        cur = conn.execute(
            "INSERT INTO alarms (model, kind, subject, value, bound, message, first_nowtest, "
            "last_nowtest, occurrences, first_at, last_at) VALUES (?,?,?,?,?,?,?,?,1,?,?)",
            (model, reason.kind, reason.subject, reason.value, reason.bound, reason.message,
             nowtest_id, nowtest_id, at, at))
        new_ids.append(int(cur.lastrowid))
    return [get_alarm(conn, i) for i in new_ids]


def raise_alarms(conn: sqlite3.Connection, model: str, nowtest_id: int | None,
                 reasons: Iterable[AlarmReason]) -> list[Alarm]:
    """Record the reasons of one now-test; returns only the alarms that are NEW (a repeat of
    an open alarm updates its count, time, now-test and latest value instead)."""
    with write_transaction(conn):
        return raise_in_transaction(conn, model, nowtest_id, reasons)


def list_alarms(conn: sqlite3.Connection, open_only: bool = False,
                limit: int = 500) -> list[Alarm]:
    """Newest (last occurrence) first."""
    where = " WHERE acknowledged_at IS NULL" if open_only else ""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM alarms{where} ORDER BY last_at DESC, id DESC "
                        "LIMIT ?", (int(limit),)).fetchall()
    return [_alarm(r) for r in rows]


def count_open(conn: sqlite3.Connection) -> int:
    """How many alarms are open (not acknowledged), however many there are."""
    return int(conn.execute("SELECT COUNT(*) FROM alarms WHERE acknowledged_at IS NULL")
               .fetchone()[0])


def acknowledge(conn: sqlite3.Connection, alarm_id: int, user: str | None = None) -> Alarm:
    """Acknowledge an open alarm (the next occurrence of its reason will be a new alarm)."""
    with write_transaction(conn):
        alarm = get_alarm(conn, alarm_id)
        if alarm is None:
            raise InputError(f"there is no alarm {alarm_id}; `ratchet alarms list` shows the "
                             "alarms and their ids.", "E_ALARM_UNKNOWN")
        if not alarm.open:
            raise InputError(f"alarm {alarm_id} was already acknowledged by "
                             f"{alarm.acknowledged_by} at {alarm.acknowledged_at}; nothing "
                             "changed.", "E_ALARM_ACKNOWLEDGED")
        conn.execute("UPDATE alarms SET acknowledged_at = ?, acknowledged_by = ? WHERE id = ?",
                     (now_text(), user or current_user(), alarm_id))
        return get_alarm(conn, alarm_id)


def mark_emailed(conn: sqlite3.Connection, ids: Iterable[int], error: str | None = None) -> None:
    """Record the e-mail about these alarms: sent now (error None), or why it failed."""
    ids = list(ids)
    with write_transaction(conn):
        if error is None:
            conn.executemany("UPDATE alarms SET emailed_at = ?, email_error = NULL WHERE id = ?",
                             [(now_text(), i) for i in ids])
        else:
            conn.executemany("UPDATE alarms SET email_error = ? WHERE id = ?",
                             [(error, i) for i in ids])
