"""The work behind the Monitor and Settings pages, run as jobs (never on the UI thread): read
the alarms and the now-tests, acknowledge alarms, now-test a file the operator chose, and read,
save and try out the workspace settings (the SMTP server, the recipients, the watch folder).

Each function opens its own registry (its own database connection): SQLite connections never
cross threads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from engine.progress import CancelToken, Progress
from engine.registry.registry import Registry

log = logging.getLogger(__name__)

ALARM_LIMIT = 500
NOWTEST_LIMIT = 200


@dataclass(frozen=True, slots=True)
class MonitorData:
    alarms: list  # engine.alarms.store.Alarm: open ones first, then the latest seen
    nowtests: list[dict]  # engine.nowtest.store.list_nowtests rows, newest first
    open_alarms: int  # how many are not acknowledged (all of them, not only those listed)
    # "ID@V" -> the requirement its now-tests are judged by: {"metric", "bound", "bound_name"}
    # (unlabelled files carry none in their result; their estimate is judged by it)
    requirements: dict[str, dict]


KIND_ORDER = ("metric", "estimate", "quality", "prediction_drift", "drift", "out_of_range")


def _open_alarms_first(alarms: list) -> list:
    """Open ones first; among them a missed requirement before an estimate before drift;
    then the latest seen first."""
    def rank(a) -> int:
        return KIND_ORDER.index(a.kind) if a.kind in KIND_ORDER else len(KIND_ORDER)

    ordered = sorted(alarms, key=lambda a: (a.last_at or "", a.id), reverse=True)
    return sorted(ordered, key=lambda a: (a.acknowledged_at is not None, rank(a)))


def load_monitor(workspace: Path, show_acknowledged: bool = False, *, progress: Progress,
                 cancel: CancelToken) -> MonitorData:
    from engine.alarms.store import count_open, list_alarms
    from engine.nowtest.store import list_nowtests

    registry = Registry.open(workspace)
    try:
        alarms = list_alarms(registry.db, open_only=True, limit=ALARM_LIMIT)
        if show_acknowledged:  # the open ones are listed however many newer ones were closed
            listed = {a.id for a in alarms}
            alarms += [a for a in list_alarms(registry.db, limit=ALARM_LIMIT)
                       if a.id not in listed]
        nowtests = list_nowtests(registry.db, limit=NOWTEST_LIMIT)
        open_count = count_open(registry.db)
        models = list(dict.fromkeys(t["model"] for t in nowtests))
        requirements = _requirements(registry, models)
    finally:
        registry.close()
    return MonitorData(_open_alarms_first(alarms), nowtests, open_count, requirements)


def _requirements(registry: Registry, labels: list[str]) -> dict[str, dict]:
    """The first requirement that applies to each installed model version's now-tests (the
    effective one, with this workstation's ratchet steps)."""
    from engine.nowtest.run import applicable
    from engine.registry.refs import parse_ref
    from engine.regression.ratchet import effective_requirements

    out: dict[str, dict] = {}
    for label in labels:
        try:
            data = registry.bundle_members(label).get("requirements.json")
            reqs = applicable(effective_requirements(registry.db, parse_ref(label)[0],
                                                     data)) if data else []
        except Exception as exc:  # e.g. a version since removed: its results still show
            log.info("no requirements for %s: %s", label, exc)
            continue
        if reqs:
            out[label] = {"metric": reqs[0].metric, "bound": reqs[0].bound,
                          "bound_name": reqs[0].bound_name}
    return out


@dataclass(frozen=True, slots=True)
class Acknowledged:
    alarms: list  # engine.alarms.store.Alarm acknowledged now, as stored
    skipped: list  # those already acknowledged meanwhile (by another process), as stored


def acknowledge_alarms(workspace: Path, alarm_ids: list[int], *, progress: Progress,
                       cancel: CancelToken) -> Acknowledged:
    """Acknowledge each alarm (by the logged-in user). One acknowledged meanwhile elsewhere
    (`ratchet alarms ack`, another workstation) is skipped and reported, not an error."""
    from engine.alarms.store import acknowledge, get_alarm
    from engine.errors import InputError

    registry = Registry.open(workspace)
    done, skipped = [], []
    try:
        for alarm_id in alarm_ids:
            try:
                done.append(acknowledge(registry.db, int(alarm_id)))
            except InputError as exc:
                if exc.code != "E_ALARM_ACKNOWLEDGED":
                    raise
                log.info("alarm %s skipped: %s", alarm_id, exc.message)
                skipped.append(get_alarm(registry.db, int(alarm_id)))  # alarms stay stored
    finally:
        registry.close()
    return Acknowledged(done, skipped)


def nowtest_file(workspace: Path, path: Path, model_ref: str | None = None,
                 segments: tuple[str, ...] = (), *, progress: Progress, cancel: CancelToken):
    """Now-test one file the operator chose (broken down by ``segments``), record it, raise
    (and e-mail) its alarms: an engine.services.nowtest.MonitorOutcome (the path `ratchet
    nowtest` takes too)."""
    from engine.services.nowtest import nowtest_and_alarm

    return nowtest_and_alarm(Path(workspace), Path(path), model_ref, source="app",
                             progress=progress, cancel=cancel, segments=segments)


DEMO_MODEL = "demo-flight-delay"  # the shipped demo model (coefficients/build_demo.py)


def nowtest_demo(workspace: Path, *, progress: Progress, cancel: CancelToken):
    """Now-test the shipped demo month (engine.ground.shipped.demo_month: a labelled month
    after the demo model's training months) with the demo model's active version."""
    from engine.errors import InputError
    from engine.ground.shipped import demo_month

    path = demo_month()
    if not path.is_file():
        raise InputError(f"the demo data is not installed: {path} does not exist; reinstall "
                         "Ratchet, or now-test a file of your own.", "E_DEMO_MISSING")
    return nowtest_file(workspace, path, DEMO_MODEL, progress=progress, cancel=cancel)


def for_model(data: MonitorData, model_id: str | None) -> MonitorData:
    """The alarms and now-tests of one model (all its versions); None: every model's. The
    open count is then that model's among those listed."""
    if model_id is None:
        return data

    def mine(label: str) -> bool:
        return str(label).partition("@")[0] == model_id

    alarms = [a for a in data.alarms if mine(a.model)]
    nowtests = [t for t in data.nowtests if mine(t.get("model", ""))]
    return MonitorData(alarms, nowtests, sum(a.acknowledged_at is None for a in alarms),
                       {k: v for k, v in data.requirements.items() if mine(k)})


# -- the Settings page ------------------------------------------------------------------------
def describe(workspace: Path, *, progress: Progress, cancel: CancelToken) -> list[dict]:
    """Every setting with its value (the password masked), default and help."""
    from engine.ground.settings import describe_settings

    return describe_settings(Path(workspace))


def save_changes(workspace: Path, changes: dict[str, str], *, progress: Progress,
                 cancel: CancelToken) -> list[dict]:
    """Set the changed settings all or nothing, in one atomic write: every value is parsed
    and validated first, so a bad one (InputError naming the setting) leaves them all as they
    were. Returns the settings as now stored."""
    from engine.ground.settings import describe_settings, set_settings

    set_settings(Path(workspace), changes)
    return describe_settings(Path(workspace))


def send_test(workspace: Path, *, progress: Progress, cancel: CancelToken) -> str:
    """Send the test e-mail with the saved settings; returns whom it went to."""
    from engine.alarms.email import send_test_email
    from engine.ground.settings import load_settings

    settings = load_settings(Path(workspace))
    send_test_email(settings)
    return str(settings.get("alarms.email_to") or "")
