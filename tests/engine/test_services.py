"""Each workstation use case is written once, in engine/services: the command line
(engine/commands) and the app's tasks (gui/tasks, which hold no Qt) both reach the same service
function, and what they leave behind is the same."""

from __future__ import annotations

import sqlite3

from engine.progress import CancelToken, no_progress
from engine.services import predict as predict_service
from engine.services import regress as regress_service
from gui.tasks import predict as predict_tasks
from gui.tasks import regression as regression_tasks
from tests.engine.conftest import json_cli
from tests.engine.workspace_kit import DEMO_LABEL

MODEL = DEMO_LABEL


def spy(monkeypatch, module, name: str) -> list[tuple]:
    """Replace ``module.name`` with a wrapper that records its calls and runs the real one."""
    calls: list[tuple] = []
    real = getattr(module, name)

    def wrapper(*args, **kwargs):
        calls.append((args, kwargs))
        return real(*args, **kwargs)
    monkeypatch.setattr(module, name, wrapper)
    return calls


def test_ratchet_regress_and_the_regression_page_run_the_same_service(ws, capsys,
                                                                       monkeypatch):
    calls = spy(monkeypatch, regress_service, "regress")
    code, doc, _ = json_cli(ws.root, capsys)("regress")
    assert code == 0 and doc["model"] == MODEL and doc["passed"] is True
    assert len(calls) == 1

    outcome = regression_tasks.run_regression(ws.root, progress=no_progress,
                                              cancel=CancelToken())
    assert len(calls) == 2  # the page's task went through the same function
    assert outcome.result.model == MODEL and outcome.result.passed
    assert outcome.result.to_json()["requirements"] == doc["requirements"]
    # both runs recorded by the service, newest first
    assert [(r.model, r.passed) for r in outcome.history] == [(MODEL, True), (MODEL, True)]
    assert outcome.history[0].id == outcome.run_id


def test_ratchet_predict_and_the_predict_page_score_through_the_same_service(
        ws, capsys, monkeypatch, tmp_path):
    source = predict_tasks.sample_csv()
    calls = spy(monkeypatch, predict_service, "score")
    by_cli, by_app = tmp_path / "cli.csv", tmp_path / "app.csv"
    code, doc, _ = json_cli(ws.root, capsys)("predict", str(source), "-o", str(by_cli))
    assert code == 0 and doc["model"] == MODEL and doc["rejected"] == 0
    assert len(calls) == 1

    result = predict_tasks.score_file(ws.root, source, by_app, progress=no_progress,
                                      cancel=CancelToken())
    assert len(calls) == 2
    assert (result.model, result.rows, result.ok) == (doc["model"], doc["rows"], doc["ok"])
    assert by_app.read_bytes() == by_cli.read_bytes()  # the same scoring, byte for byte
    with sqlite3.connect(ws.root / "ratchet.db") as db:
        outputs = [row[0] for row in db.execute("SELECT output FROM batches ORDER BY id")]
    assert outputs == [str(by_cli), str(by_app)]  # each recorded once, by the service
