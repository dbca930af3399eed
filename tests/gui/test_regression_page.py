"""The Regression page end to end, with its real workers: run, verdict, cases, history, report;
and a pinned outlier whose expected value no longer holds failing the next run."""

import csv
import json
import sqlite3

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from engine.progress import CancelToken, no_progress
from engine.services import regress as regress_service
from gui.pages.regression import RegressionPage
from gui.tasks import regression as tasks
from gui.tasks.predict import sample_csv
from tests.engine.workspace_kit import DEMO_LABEL
from tests.gui.kit import TIMEOUT_MS


@pytest.fixture
def page(ctx, qtbot):
    widget = RegressionPage(ctx)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def cell(table, row: int, column: str) -> str:
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    return table.item(row, headers.index(column)).text()


def first_sample_row() -> dict[str, str]:
    with sample_csv().open(newline="", encoding="utf-8") as fh:
        return next(csv.DictReader(fh))


def test_run_shows_passed_lists_cases_records_history_and_exports(page, ctx, qtbot,
                                                                   tmp_path, monkeypatch):
    with qtbot.waitSignal(page.history_loaded, timeout=TIMEOUT_MS):
        page.refresh()
    assert page.runs.rowCount() == 0
    assert not page.panel.export_button.isEnabled()

    with qtbot.waitSignal(page.run_finished, timeout=TIMEOUT_MS) as done:
        qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)
    outcome = done.args[0]
    assert outcome.result.passed and outcome.result.model == DEMO_LABEL
    assert page.verdict.headline.text() == "PASSED"
    assert "background: #006e32" in page.verdict.headline.styleSheet()
    assert "28 of 28 cases passed" in page.verdict.summary.text()
    assert "roc_auc 0.9286 (min 0.9)" in page.verdict.summary.text()
    assert not page.verdict.problems.isVisible()
    assert page.cases.rowCount() == 28
    kinds = {cell(page.cases, r, "Kind") for r in range(28)}
    assert kinds == {"golden", "contrived"}
    assert all(cell(page.cases, r, "Result") == "passed" for r in range(28))
    assert page.runs.rowCount() == 1 and cell(page.runs, 0, "Verdict") == "passed"
    with sqlite3.connect(ctx.workspace / "ratchet.db") as db:
        assert db.execute("SELECT model, passed FROM regression_runs").fetchall() == \
            [(DEMO_LABEL, 1)]

    report = tmp_path / "report.html"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(report), "")))
    assert page.panel.export_button.isEnabled()
    with qtbot.waitSignal(page.panel.report_written, timeout=TIMEOUT_MS):
        qtbot.mouseClick(page.panel.export_button, Qt.MouseButton.LeftButton)
    text = report.read_text(encoding="utf-8")
    assert "PASSED" in text and "roc_auc" in text and "<svg" in text
    assert str(report) in page.panel.message.text()


def test_a_pinned_outlier_that_no_longer_holds_fails_the_run_by_name(page, ctx, qtbot):
    pinned_id, label = tasks.pin_outlier(ctx.workspace, None, first_sample_row(),
                                         "seen on the night shift", "july.csv row 1",
                                         progress=no_progress, cancel=CancelToken())
    assert label == DEMO_LABEL
    with qtbot.waitSignal(page.run_finished, timeout=TIMEOUT_MS):
        page.run()
    assert page.verdict.headline.text() == "PASSED"
    assert page.cases.rowCount() == 29
    pinned_rows = [r for r in range(29) if cell(page.cases, r, "Source") == "july.csv row 1"]
    assert len(pinned_rows) == 1
    assert cell(page.cases, pinned_rows[0], "Kind") == "outlier (pinned here)"

    with sqlite3.connect(ctx.workspace / "ratchet.db") as db:  # the model's answer changed
        db.execute("UPDATE pinned_cases SET probabilities = ? WHERE id = ?",
                   (json.dumps({"0": "0.25", "1": "0.75"}), pinned_id))
    with qtbot.waitSignal(page.run_finished, timeout=TIMEOUT_MS):
        page.run()
    assert page.verdict.headline.text() == "FAILED"
    assert "background: #b00020" in page.verdict.headline.styleSheet()
    assert page.verdict.problems.isVisible()
    problems = page.verdict.problems.text()
    assert "pinned outlier 1 (july.csv row 1: seen on the night shift) failed" in problems
    assert "expected 0.25" in problems
    assert cell(page.cases, 0, "Source") == "july.csv row 1"  # failures first
    assert cell(page.cases, 0, "Result").startswith("FAILED: ")
    assert [cell(page.runs, r, "Verdict") for r in range(2)] == ["FAILED", "passed"]
    assert "pinned outlier 1" in cell(page.runs, 0, "Why it failed")


def test_cancel_records_nothing(page, ctx, qtbot, monkeypatch):
    def cancelled_suite(*args, cancel, **kwargs):
        cancel.cancel()
        cancel.check()

    monkeypatch.setattr(regress_service, "run_suite", cancelled_suite)
    page.run()
    assert not page.run_button.isEnabled() and page.panel.progress.isVisible()
    qtbot.waitUntil(lambda: page.run_button.isEnabled(), timeout=TIMEOUT_MS)
    assert page.verdict.summary.text() == "Cancelled: nothing was recorded."
    with sqlite3.connect(ctx.workspace / "ratchet.db") as db:
        assert db.execute("SELECT count(*) FROM regression_runs").fetchone() == (0,)


def test_a_row_pinned_on_the_predict_page_runs_in_the_next_suite(page, ctx, qtbot,
                                                                 monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    from gui.pages.predict import PredictPage, State

    predict = PredictPage(ctx)
    qtbot.addWidget(predict)
    predict.use_sample()
    qtbot.waitUntil(lambda: predict.state is State.READY, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(predict.preview_loaded, timeout=TIMEOUT_MS):
        predict.run()
    assert not predict.results.pin_button.isEnabled()  # nothing selected yet
    predict.results.table.selectRow(1)
    assert predict.results.pin_button.isEnabled()
    number, inputs = predict.results.selected_inputs()
    assert number == 2 and list(inputs)[:3] == ["year", "month", "day"]
    assert "prediction" not in inputs and "status" not in inputs
    asked = []
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(
        lambda parent, title, text, *a, **k: asked.append(text) or ("odd route", True)))
    with qtbot.waitSignal(predict.pinned, timeout=TIMEOUT_MS) as pinned:
        qtbot.mouseClick(predict.results.pin_button, Qt.MouseButton.LeftButton)
    assert "flights-2013-07-sample.csv row 2" in asked[0]
    assert pinned.args[1] == ("Pinned flights-2013-07-sample.csv row 2 as an outlier case of "
                              "demo-flight-delay.")

    with qtbot.waitSignal(page.run_finished, timeout=TIMEOUT_MS):
        page.run()
    assert page.verdict.headline.text() == "PASSED" and page.cases.rowCount() == 29
    last = page.cases.rowCount() - 1
    assert cell(page.cases, last, "Source") == "flights-2013-07-sample.csv row 2"
    assert (cell(page.cases, last, "Row"), cell(page.cases, last, "Note")) == \
        ("pinned 1", "odd route")
