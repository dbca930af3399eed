"""Two and three models on one workstation: where no model is named, predict, nowtest,
backtest and watch take the one active model whose inputs the file's header covers, ask
(exit 2, naming them and --model) when several fit, and say what each model lacks when none
does; a model can be deactivated (kept, recorded, never chosen, refused when named) and
reactivated."""

from __future__ import annotations

import json

import pytest

from engine.cli import main
from engine.ground.settings import set_setting
from engine.registry.registry import Registry
from tests.engine import models_kit as kit
from tests.engine.conftest import json_cli
from tests.engine.workspace_kit import DEMO_ID, DEMO_LABEL

DEMO, SENSORS, SMALL = DEMO_LABEL, "test-sensors@1", "test-small@1"


@pytest.fixture
def two(ws, tmp_path, capsys):
    """The demo model, then test-sensors (the most recently activated); the CLI on them."""
    kit.add_sensors(ws.root)
    return json_cli(ws.root, capsys)


@pytest.fixture
def files(tmp_path):
    return {"flights": kit.flights(tmp_path / "in" / "flights.csv"),
            "sensors": kit.write(tmp_path / "in" / "sensors.csv", kit.SENSORS),
            "small": kit.write(tmp_path / "in" / "small.csv", kit.SMALL),
            "both": kit.write(tmp_path / "in" / "both.csv", kit.SENSORS + kit.SMALL)}


def watch_once(root, folder, capsys, *extra) -> list[dict]:
    code = main(["--workspace", str(root), "--json", "watch", str(folder), "--once", *extra])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    return [code, *lines]


def test_each_command_takes_the_model_the_file_fits(two, files, tmp_path, ws, capsys):
    run = two
    code, doc, _ = run("predict", str(files["flights"]), "-o", str(tmp_path / "o1.csv"))
    assert code == 0 and doc["model"] == DEMO  # not the newer, unrelated sensor model
    code, doc, _ = run("predict", str(files["sensors"]), "-o", str(tmp_path / "o2.csv"))
    assert code == 0 and doc["model"] == SENSORS
    code, doc, _ = run("predict", str(files["flights"]), "-o", str(tmp_path / "o3.csv"),
                       "--model", DEMO_ID)
    assert doc["model"] == DEMO

    assert run("nowtest", str(files["flights"]))[1]["model"] == DEMO
    assert run("nowtest", str(files["sensors"]))[1]["model"] == SENSORS
    assert run("nowtest", str(files["sensors"]), "--model", "test-sensors")[1]["model"] == SENSORS

    code, doc, _ = run("backtest", str(files["flights"]), "--time-column", "time_hour")
    assert {p["model"] for p in doc["partitions"]} == {DEMO}
    code, doc, _ = run("backtest", str(files["sensors"]), "--time-column", "when")
    assert code == 0 and {p["model"] for p in doc["partitions"]} == {SENSORS}

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("flights", "sensors"):
        (inbox / f"{name}.csv").write_bytes(files[name].read_bytes())
    set_setting(ws.root, "watch.settle_seconds", "0.05")
    code, *events, summary = watch_once(ws.root, inbox, capsys)
    assert summary["failed"] == 0 and summary["processed"] == 2
    assert {e["path"].rsplit("/", 1)[1]: e["model"] for e in events} == {
        "flights.csv": DEMO, "sensors.csv": SENSORS}


def test_a_file_no_model_fits_names_what_each_lacks(two, files, tmp_path):
    code, doc, _ = two("predict", str(files["small"]), "-o", str(tmp_path / "o.csv"))
    assert code == 2 and doc["error"] == "E_NO_MODEL_FITS"
    assert f"{DEMO} lacks '" in doc["message"]
    assert f"{SENSORS} lacks 's00', 's01'" in doc["message"] and "and 22 more" in doc["message"]
    assert "--model" in doc["message"] and not (tmp_path / "o.csv").exists()
    code, doc, _ = two("nowtest", str(files["small"]))
    assert code == 2 and doc["error"] == "E_NO_MODEL_FITS"
    code, doc, _ = two("backtest", str(files["small"]), "--time-column", "when")
    assert code == 2 and doc["error"] == "E_NO_MODEL_FITS" and "corpus" in doc["message"]


def test_three_models_a_file_two_fit_is_asked_about(two, files, tmp_path, ws, capsys):
    kit.add_small(ws.root)
    code, doc, _ = two("predict", str(files["small"]), "-o", str(tmp_path / "o1.csv"))
    assert code == 0 and doc["model"] == SMALL
    assert two("nowtest", str(files["flights"]))[1]["model"] == DEMO
    for args in (("predict", str(files["both"]), "-o", str(tmp_path / "o2.csv")),
                 ("nowtest", str(files["both"])),
                 ("backtest", str(files["both"]), "--time-column", "when")):
        code, doc, _ = two(*args)
        assert code == 2 and doc["error"] == "E_MODEL_AMBIGUOUS", args
        assert SENSORS in doc["message"] and SMALL in doc["message"]
        assert DEMO not in doc["message"] and "--model" in doc["message"]
    code, doc, _ = two("predict", str(files["both"]), "-o", str(tmp_path / "o3.csv"),
                       "--model", "test-small")
    assert code == 0 and doc["model"] == SMALL
    code, doc, _ = two("backtest", str(files["both"]), "--time-column", "when",
                       "--model", "test-sensors")
    assert code == 0 and {p["model"] for p in doc["partitions"]} == {SENSORS}

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("flights", "small", "both"):
        (inbox / f"{name}.csv").write_bytes(files[name].read_bytes())
    set_setting(ws.root, "watch.settle_seconds", "0.05")
    code, *events, summary = watch_once(ws.root, inbox, capsys)
    assert code == 1 and summary["processed"] == 2 and summary["failed"] == 1
    by_name = {e["path"].rsplit("/", 1)[1]: e for e in events}
    assert by_name["flights.csv"]["model"] == DEMO and by_name["small.csv"]["model"] == SMALL
    assert by_name["both.csv"]["state"] == "failed" and "--model" in by_name["both.csv"]["error"]


def test_deactivate_keeps_records_and_reactivate_brings_it_back(two, files, tmp_path, ws):
    code, doc, _ = two("models", "deactivate", "test-sensors")
    assert code == 0 and doc == {"model_id": "test-sensors", "version": 1,
                                 "status": "deactivated"}
    code, doc, _ = two("models", "deactivate", "test-sensors")
    assert code == 2 and doc["error"] == "E_MODEL_DEACTIVATED"
    code, listed, _ = two("models", "list")
    assert [(m["model_id"], m["active"]) for m in listed["models"]] == [
        (DEMO_ID, True), ("test-sensors", False)]  # kept installed
    # Named, it says so and how to bring it back; by default it is never chosen.
    code, doc, _ = two("predict", str(files["sensors"]), "-o", str(tmp_path / "o.csv"),
                       "--model", "test-sensors")
    assert code == 2 and doc["error"] == "E_MODEL_DEACTIVATED"
    assert "ratchet models activate test-sensors 1" in doc["message"]
    code, doc, _ = two("nowtest", str(files["sensors"]))
    assert code == 2 and doc["error"] == "E_MISSING_COLUMN"  # the demo, the one active model
    assert two("predict", str(files["flights"]), "-o", str(tmp_path / "o2.csv"))[1][
        "model"] == DEMO

    code, doc, _ = two("models", "activate", "test-sensors", "1")
    assert code == 0 and doc["status"] == "activated"
    assert two("nowtest", str(files["sensors"]))[1]["model"] == SENSORS
    code, shown, _ = two("models", "show", "test-sensors")
    assert [h["action"] for h in shown["history"]] == ["import", "deactivate", "activate"]
    with Registry.open(ws.root) as registry:
        assert registry.active_version("test-sensors") == 1


def test_deactivating_every_model_says_which_are_deactivated(two, files, tmp_path):
    assert two("models", "deactivate", "test-sensors")[0] == 0
    assert two("models", "deactivate", DEMO_ID)[0] == 0
    code, doc, _ = two("predict", str(files["flights"]), "-o", str(tmp_path / "o.csv"))
    assert code == 2 and doc["error"] == "E_NO_ACTIVE_MODEL"
    code, doc, _ = two("models", "deactivate", "nope")
    assert code == 2 and doc["error"] == "E_MODEL_UNKNOWN"
