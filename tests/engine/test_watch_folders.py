"""Several watch folders, each bound to a model (the setting `watch.folders`): parsed, checked
and stored in one place (engine.ground.watch_folders through the settings layer), set and read
with `ratchet settings`, and watched by `ratchet watch` -- each file now-tested with its
folder's model, a file lacking that model's inputs a "watch" alarm naming the folder, the model
and the columns."""

from __future__ import annotations

import json
import threading

import pytest

from engine.alarms.store import list_alarms
from engine.cli import main
from engine.errors import InputError
from engine.ground.database import connect
from engine.ground.settings import (
    get_setting,
    load_settings,
    set_setting,
    set_settings,
    settings_notes,
    settings_path,
)
from engine.ground.watch_folders import WatchBinding, format_folders, watch_bindings
from engine.progress import CancelToken
from engine.services.watching import watch_all
from tests.engine import models_kit as kit
from tests.engine.conftest import json_cli
from tests.engine.workspace_kit import DEMO_ID, DEMO_LABEL

SENSORS_ID = "test-sensors"


@pytest.fixture
def inboxes(tmp_path):
    out = {name: tmp_path / "in" / name for name in ("flights", "sensors", "other")}
    for path in out.values():
        path.mkdir(parents=True)
    return out


def test_folders_parse_check_and_round_trip(ws, inboxes):
    text = f"{inboxes['flights']}={DEMO_ID}; {inboxes['other']}\n{inboxes['sensors']}=*"
    value = set_setting(ws.root, "watch.folders", text)
    assert value == [{"folder": str(inboxes["flights"].resolve()), "model": DEMO_ID},
                     {"folder": str(inboxes["other"].resolve()), "model": None},
                     {"folder": str(inboxes["sensors"].resolve()), "model": None}]
    assert get_setting(ws.root, "watch.folders") == value
    # its typed form gives the same value back; so does the JSON list (the Settings page's)
    assert set_setting(ws.root, "watch.folders", format_folders(value)) == value
    assert set_setting(ws.root, "watch.folders", json.dumps(value)) == value
    # the older one-folder setting is one more folder, by header, unless listed already
    set_setting(ws.root, "watch.folder", str(inboxes["other"]))
    assert watch_bindings(load_settings(ws.root)) == [
        WatchBinding(str(inboxes["flights"].resolve()), DEMO_ID),
        WatchBinding(str(inboxes["other"].resolve())),
        WatchBinding(str(inboxes["sensors"].resolve()))]
    assert set_setting(ws.root, "watch.folders", "") == []
    assert watch_bindings(load_settings(ws.root)) == [
        WatchBinding(str(inboxes["other"].resolve()))]


@pytest.mark.parametrize(("text", "code", "said", "hint"), [
    ("{flights};{flights}/", "E_SETTING_VALUE", "is listed twice", "list each folder once"),
    ("{flights}=no-such-model", "E_MODEL_UNKNOWN", "'no-such-model': it is not installed",
     "`ratchet models list` shows the installed models"),
    ("{flights}=demo-flight-delay@1", "E_SETTING_VALUE", "is not a model id",
     "give the id alone"),
    ("=demo-flight-delay", "E_SETTING_VALUE", "has no folder before '='", "FOLDER=MODEL"),
    ("{flights}/nowhere=demo-flight-delay", "E_SETTING_VALUE", "does not exist",
     "create it first"),
    ('[{{"dir": "{flights}"}}]', "E_SETTING_VALUE", "a JSON list needs objects",
     "FOLDER=MODEL"),
])
def test_a_bad_value_is_refused_saying_why_and_nothing_changes(ws, inboxes, text, code, said,
                                                                hint):
    set_setting(ws.root, "smtp.host", "mail.example.org")
    before = settings_path(ws.root).read_bytes()
    with pytest.raises(InputError) as info:
        set_settings(ws.root, {"smtp.host": "other.example.org",
                               "watch.folders": text.format(flights=inboxes["flights"])})
    assert info.value.code == code and said in info.value.message
    assert "watch.folders" in info.value.message and hint in info.value.message
    if code == "E_MODEL_UNKNOWN":  # what is installed, by name
        assert f"installed: {DEMO_ID}" in info.value.message
    assert settings_path(ws.root).read_bytes() == before


def test_a_stored_value_of_the_wrong_shape_falls_back_and_the_doctor_says_so(ws):
    set_setting(ws.root, "smtp.host", "mail.example.org")
    path = settings_path(ws.root)
    doc = json.loads(path.read_text())
    doc["values"]["watch.folders"] = "/in/a=demo"  # a string, not a list
    path.write_text(json.dumps(doc))
    assert load_settings(ws.root)["watch.folders"] == []
    assert any("watch.folders" in note and "a list of folders with their models" in note
               for note in settings_notes(ws.root))


def test_the_settings_commands_set_get_and_list_the_folders(ws, inboxes, capsys):
    run = json_cli(ws.root, capsys, "settings")
    code, doc, _ = run("set", "watch.folders", f"{inboxes['flights']}={DEMO_ID};"
                       f"{inboxes['other']}")
    assert code == 0 and doc["value"] == [
        {"folder": str(inboxes["flights"].resolve()), "model": DEMO_ID},
        {"folder": str(inboxes["other"].resolve()), "model": None}]
    assert run("get", "watch.folders")[1] == doc
    listed = {r["key"]: r for r in run("list")[1]["settings"]}
    assert "FOLDER=MODEL" in listed["watch.folders"]["help"]
    code, doc, _ = run("set", "watch.folders", f"{inboxes['flights']}=sensor-x")
    assert code == 2 and doc["error"] == "E_MODEL_UNKNOWN" and "sensor-x" in doc["message"]
    assert run("get", "watch.folders")[1]["value"][0]["model"] == DEMO_ID  # unchanged


def _watch(root, capsys, *args) -> tuple[int, list[dict], dict]:
    code = main(["--workspace", str(root), "--json", "watch", *args, "--once"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    return code, lines[:-1], lines[-1]


def by_file_model(events, name: str) -> str | None:
    return next(e.get("model") for e in events if e["path"].endswith(name))


def test_each_folder_is_now_tested_with_its_own_model(ws, inboxes, capsys):
    kit.add_sensors(ws.root)
    set_setting(ws.root, "watch.settle_seconds", "0.05")
    set_setting(ws.root, "watch.folders", f"{inboxes['flights']}={DEMO_ID};"
                f"{inboxes['sensors']}={SENSORS_ID}")
    set_setting(ws.root, "watch.folder", str(inboxes["other"]))  # by the file's header
    kit.flights(inboxes["flights"] / "day1.csv")
    kit.write(inboxes["other"] / "any.csv", kit.SENSORS)
    kit.write(inboxes["sensors"] / "day1.csv", kit.SENSORS)
    kit.flights(inboxes["sensors"] / "misplaced.csv")  # a flight file in the sensors' folder

    code, events, summary = _watch(ws.root, capsys)  # no FOLDER: every configured folder
    assert [f["model"] for f in summary["folders"]] == [DEMO_ID, SENSORS_ID, None]
    assert by_file_model(events, "other/any.csv") == f"{SENSORS_ID}@1"
    by_file = {e["path"].split("/in/", 1)[1]: e for e in events}
    assert by_file["flights/day1.csv"]["model"] == DEMO_LABEL
    assert by_file["sensors/day1.csv"]["model"] == f"{SENSORS_ID}@1"
    misplaced = by_file["sensors/misplaced.csv"]
    assert misplaced["state"] == "failed" and misplaced["code"] == "E_WATCH_WRONG_MODEL"
    assert code == 1 and summary["processed"] == 3 and summary["failed"] == 1

    conn = connect(ws.database)
    try:
        (alarm,) = [a for a in list_alarms(conn) if a.kind == "watch"]
    finally:
        conn.close()
    assert alarm.model == SENSORS_ID  # the folder's model, not "watch folder"
    assert str(inboxes["sensors"].resolve()) in alarm.message
    assert f"bound to the model {SENSORS_ID}" in alarm.message
    assert "'s00', 's01'" in alarm.message and "and 22 more" in alarm.message
    assert "misplaced.csv" in alarm.message


def test_watch_folder_takes_its_bound_model_or_model(ws, inboxes, capsys):
    kit.add_sensors(ws.root)
    set_setting(ws.root, "watch.settle_seconds", "0.05")
    set_setting(ws.root, "watch.folders", f"{inboxes['sensors']}={SENSORS_ID}")
    kit.flights(inboxes["sensors"] / "flights.csv")
    kit.flights(inboxes["other"] / "flights.csv")
    # FOLDER alone: the model the settings bind it to
    code, (event,), summary = _watch(ws.root, capsys, str(inboxes["sensors"]))
    assert event["code"] == "E_WATCH_WRONG_MODEL" and summary["folder"] == str(
        inboxes["sensors"].resolve())
    # FOLDER --model ID: that model; a file lacking its inputs is the same failure
    code, (event,), _ = _watch(ws.root, capsys, str(inboxes["other"]), "--model", SENSORS_ID)
    assert event["state"] == "failed" and event["code"] == "E_WATCH_WRONG_MODEL"
    # --model without FOLDER is refused: each configured folder has its own model
    code = main(["--workspace", str(ws.root), "--json", "watch", "--once", "--model", DEMO_ID])
    assert code == 2 and json.loads(capsys.readouterr().out)["error"] == "E_USAGE"


def test_a_folder_that_cannot_be_read_does_not_stop_the_others(ws, inboxes):
    bindings = [WatchBinding(str(inboxes["other"].resolve())),
                WatchBinding(str(inboxes["flights"].resolve()), DEMO_ID)]
    watchers = watch_all(ws.root, bindings, "watch", CancelToken(), settle_seconds=0)
    inboxes["other"].rmdir()  # gone after the watcher started
    kit.flights(inboxes["flights"] / "day1.csv")
    stop, events, problems = threading.Event(), [], []

    def on_event(event):
        events.append(event)
        stop.set()

    thread = threading.Thread(target=watchers.run, args=(stop, 0.01, on_event,
                              lambda w, text: problems.append((w.folder, text))))
    thread.start()
    thread.join(60)
    stop.set()
    assert not thread.is_alive()
    assert [(e.path.name, e.state) for e in events] == [("day1.csv", "done")]
    assert events[0].outcome.result.model == DEMO_LABEL
    assert problems[0][0] == inboxes["other"].resolve()
    assert "no longer exists" in problems[0][1]


def test_of_several_folders_one_missing_at_the_start_is_reported_and_watched_once_made(
        ws, inboxes):
    later = inboxes["other"].parent / "later"
    bindings = [WatchBinding(str(later)), WatchBinding(str(inboxes["flights"].resolve()))]
    watchers = watch_all(ws.root, bindings, "watch", CancelToken(), settle_seconds=0)
    problems = []
    watchers.watchers[0].step(threading.Event(), None, problems.append)
    assert problems == [f"the watch folder {later} does not exist; create it or remove it "
                        "from the watch folders (Settings, or `ratchet settings set "
                        "watch.folders`)."]
    later.mkdir()
    kit.flights(inboxes["other"] / "day.csv").replace(later / "day.csv")
    events = watchers.poll_once() + watchers.poll_once()  # seen, then settled
    assert [(e.path.name, e.state) for e in events] == [("day.csv", "done")]
    watchers.watchers[0].step(threading.Event(), None, problems.append)
    assert problems[-1] is None  # cleared
