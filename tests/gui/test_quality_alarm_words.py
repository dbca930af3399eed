"""A data-quality alarm is named in words in its e-mail, and listed on the Monitor page right
after the missed requirements (before drift)."""

from engine.alarms.email import alarm_text
from engine.alarms.store import Alarm
from gui.tasks.monitor import _open_alarms_first


def alarm(id_: int, kind: str, subject: str) -> Alarm:
    return Alarm(id_, "m@1", kind, subject, 0.2, 0.05, "m@1: ...", 1, "2026-12-06T10:00:00Z",
                 f"2026-12-06T10:0{id_}:00Z", 1, 1, None, None, None, None)


def test_the_email_names_a_quality_rule_in_words():
    text = alarm_text(alarm(1, "quality", "max_missing(dep_delay)"))
    assert "data-quality rule: max_missing(dep_delay)" in text


def test_quality_alarms_come_after_missed_metrics_and_before_drift():
    listed = _open_alarms_first([alarm(1, "drift", "dep_delay"), alarm(2, "quality", "q"),
                                 alarm(3, "metric", "roc_auc")])
    assert [a.kind for a in listed] == ["metric", "quality", "drift"]
