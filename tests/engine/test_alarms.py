"""The alarm store and now-test records on a real SQLite workspace: one bad week is one alarm,
acknowledgement opens the way for a new one, concurrent raisers make one row, and the now-test
and its alarms are recorded together."""

from __future__ import annotations

import threading

import pytest

from engine.alarms.store import acknowledge, list_alarms, mark_emailed, raise_alarms
from engine.errors import InputError
from engine.ground import database
from engine.ground.paths import Workspace
from engine.nowtest.result import AlarmReason, NowtestResult
from engine.nowtest.store import list_nowtests, record_nowtest
from engine.services.nowtest import record_and_raise

MODEL = "demo-flight-delay@1"
AUC = AlarmReason("metric", "roc_auc", 0.884, 0.92,
                  f"{MODEL}: roc_auc 0.884 is below the minimum 0.92.")
DRIFT = AlarmReason("drift", "dep_delay", 0.31, 0.1,
                    f"{MODEL}: dep_delay drifted (statistic 0.31 > 0.1).")


def result_with(*reasons: AlarmReason, model: str = MODEL, name: str = "week.csv"):
    return NowtestResult(model=model, input=f"/data/{name}", input_sha256="ab" * 32, rows=1200,
                         labelled=1200, rejected=0, metrics={"roc_auc": 0.884},
                         requirements=[], drift=[], prediction_drift=None, out_of_range={},
                         estimate=None, reasons=list(reasons))


@pytest.fixture
def db(tmp_path):
    path = Workspace.open(tmp_path / "ws").database
    conns = []

    def connect(closed_by_caller: bool = False):
        conn = database.connect(path)
        if not closed_by_caller:
            conns.append(conn)
        return conn

    yield connect
    for conn in conns:
        conn.close()


def test_the_same_reason_fifty_times_is_one_alarm_then_new_after_ack(db):
    conn = db()
    first = raise_alarms(conn, MODEL, 1, [AUC])
    assert [a.occurrences for a in first] == [1]
    for n in range(2, 51):
        latest = AlarmReason("metric", "roc_auc", 0.8 + n / 1000, 0.92, f"week {n}")
        assert raise_alarms(conn, MODEL, n, [latest]) == []
    (alarm,) = list_alarms(conn)
    assert alarm.id == first[0].id and alarm.occurrences == 50
    assert (alarm.first_nowtest, alarm.last_nowtest) == (1, 50)
    assert alarm.value == pytest.approx(0.85) and alarm.message == "week 50"
    assert alarm.open and alarm.first_at <= alarm.last_at

    acked = acknowledge(conn, alarm.id, user="operator")
    assert not acked.open and acked.acknowledged_by == "operator"
    again = raise_alarms(conn, MODEL, 51, [AUC])
    assert len(again) == 1 and again[0].id != alarm.id and again[0].occurrences == 1
    assert [a.id for a in list_alarms(conn, open_only=True)] == [again[0].id]
    assert len(list_alarms(conn)) == 2


def test_alarms_differ_by_model_kind_and_subject(db):
    conn = db()
    new = raise_alarms(conn, MODEL, 1, [AUC, DRIFT])
    assert [(a.kind, a.subject) for a in new] == [("metric", "roc_auc"), ("drift", "dep_delay")]
    assert len(raise_alarms(conn, "demo-flight-delay@2", 2, [AUC])) == 1
    assert raise_alarms(conn, MODEL, 3, [DRIFT, AUC]) == []
    assert len(list_alarms(conn, open_only=True)) == 3


def test_acknowledging_unknown_or_twice_is_a_clear_error(db):
    conn = db()
    (alarm,) = raise_alarms(conn, MODEL, 1, [AUC])
    with pytest.raises(InputError) as unknown:
        acknowledge(conn, 999)
    assert "no alarm 999" in unknown.value.message and "ratchet alarms list" in \
        unknown.value.message
    acknowledge(conn, alarm.id, user="ann")
    with pytest.raises(InputError) as twice:
        acknowledge(conn, alarm.id, user="bob")
    assert "already acknowledged by ann" in twice.value.message
    assert list_alarms(conn)[0].acknowledged_by == "ann"


def test_mark_emailed_records_success_or_the_error(db):
    conn = db()
    a, b = raise_alarms(conn, MODEL, 1, [AUC, DRIFT])
    mark_emailed(conn, [a.id], error="could not send the e-mail through x:1")
    mark_emailed(conn, [b.id])
    by_id = {x.id: x for x in list_alarms(conn)}
    assert by_id[a.id].emailed_at is None and "x:1" in by_id[a.id].email_error
    assert by_id[b.id].emailed_at is not None and by_id[b.id].email_error is None
    assert by_id[b.id].to_json()["open"] is True


def test_two_writers_raising_the_same_alarm_at_once_make_one_row(db):
    """Each thread has its own connection (as two processes would): the database's write lock
    and the one-open-alarm index decide, not Python's."""
    rounds, writers = 20, 4
    barrier = threading.Barrier(writers)
    new_counts = [0] * writers
    errors = []

    def writer(i: int) -> None:
        conn = db(closed_by_caller=True)
        try:
            for r in range(rounds):
                barrier.wait()
                reason = AlarmReason("drift", f"feature{r}", 0.5, 0.1, "drifted")
                new_counts[i] += len(raise_alarms(conn, MODEL, r, [reason]))
        except Exception as exc:  # reported below, with the thread's failure
            errors.append(exc)
            barrier.abort()
        finally:
            conn.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    alarms = list_alarms(db())
    assert len(alarms) == rounds and sum(new_counts) == rounds
    assert all(a.occurrences == writers for a in alarms)


def test_nowtests_are_recorded_with_their_alarms_newest_first(db):
    conn = db()
    id1, new1 = record_and_raise(conn, result_with(AUC, name="w1.csv"), "watch")
    id2, new2 = record_and_raise(conn, result_with(AUC, name="w2.csv"), "cli")
    id3 = record_nowtest(conn, result_with(model="other@3", name="o.csv"), "app")
    assert len(new1) == 1 and new2 == []
    (alarm,) = list_alarms(conn)
    assert (alarm.first_nowtest, alarm.last_nowtest, alarm.occurrences) == (id1, id2, 2)
    rows = list_nowtests(conn)
    assert [r["id"] for r in rows] == [id3, id2, id1]
    assert rows[1]["source"] == "cli" and rows[1]["alarm"] is True
    assert rows[1]["result"]["reasons"][0]["subject"] == "roc_auc"
    assert rows[0]["alarm"] is False and rows[0]["rows"] == 1200
    assert [r["id"] for r in list_nowtests(conn, model="demo-flight-delay")] == [id2, id1]
    assert [r["id"] for r in list_nowtests(conn, model="other@3")] == [id3]
    assert [r["id"] for r in list_nowtests(conn, limit=1)] == [id3]
    with pytest.raises(ValueError):
        record_nowtest(conn, result_with(), "cron")


def test_values_that_are_not_finite_are_stored_and_shown_as_json_null(db):
    conn = db()
    (alarm,) = raise_alarms(conn, MODEL, 1, [
        AlarmReason("estimate", "roc_auc", float("nan"), 0.92, "no estimate")])
    (other,) = raise_alarms(conn, MODEL, 2, [
        AlarmReason("drift", "distance", float("inf"), 0.1, "infinitely far")])
    assert alarm.value is None and alarm.to_json()["value"] is None
    assert other.to_json()["value"] is None and other.to_json()["bound"] == 0.1
