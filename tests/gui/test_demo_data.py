""""Use the demo data" on the Back-test and Trial pages (issue 14): one click fills in the
shipped demo corpus and its time column, and a back-test of the demo model on it runs out of
the box, month by month over 2013."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from engine.ground.shipped import DEMO_LABEL, DEMO_TIME_COLUMN, demo_corpus
from engine.progress import CancelToken, no_progress
from gui.pages.backtest import BacktestPage
from gui.pages.trial.page import TrialPage
from gui.tasks.models import snapshot
from tests.engine.workspace_kit import DEMO_LABEL as DEMO_MODEL
from tests.gui.kit import TIMEOUT_MS

LEFT = Qt.MouseButton.LeftButton
MONTHS = [f"2013-{m:02d}" for m in range(1, 13)]


@pytest.fixture
def backtest(ctx, qtbot):
    page = BacktestPage(ctx)
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.history_loaded, timeout=TIMEOUT_MS):
        page.show()
    page.set_snapshot(snapshot(ctx.workspace, progress=no_progress, cancel=CancelToken()))
    return page


@pytest.fixture
def trial(ctx, qtbot):
    page = TrialPage(ctx)
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT_MS):
        page.show()
    return page


def click_demo(chooser, qtbot):
    assert chooser.demo_button.isVisible() and chooser.demo_button.isEnabled()
    with qtbot.waitSignal(chooser.corpus_loaded, timeout=TIMEOUT_MS) as loaded:
        qtbot.mouseClick(chooser.demo_button, LEFT)
    return loaded.args[0]


def test_the_demo_data_button_backtests_the_demo_model_by_month(backtest, qtbot):
    assert not backtest.run_button.isEnabled()  # no corpus yet
    info = click_demo(backtest.setup.corpus, qtbot)
    assert info.path == demo_corpus() and demo_corpus().is_file()
    assert DEMO_LABEL in info.columns and "month" not in info.columns
    assert backtest.setup.corpus.corpus_edit.text() == str(demo_corpus())
    assert backtest.setup.corpus.time_column() == DEMO_TIME_COLUMN
    assert backtest.setup.corpus.by() == "month"
    assert backtest.run_button.isEnabled()

    with qtbot.waitSignal(backtest.run_finished, timeout=TIMEOUT_MS) as done:
        qtbot.mouseClick(backtest.run_button, LEFT)
        assert not backtest.setup.corpus.demo_button.isEnabled()  # not while running
    result = done.args[0].result
    assert result.champion == DEMO_MODEL
    assert result.partition_keys == MONTHS
    assert (result.unlabelled, result.untimed) == (0, 0)
    assert all(p.rows > 3000 and p.rejected == 0 for p in result.partitions)
    assert backtest.setup.corpus.demo_button.isEnabled()


def test_the_demo_data_button_fills_in_the_trial_gate_corpus(trial, qtbot):
    form = trial.gate.form
    info = click_demo(form.corpus, qtbot)
    assert info.path == demo_corpus()
    assert form.corpus.corpus_edit.text() == str(demo_corpus())
    assert form.corpus.time_column() == DEMO_TIME_COLUMN


def test_a_time_column_asked_for_is_chosen_over_the_first_date_like_one(backtest, qtbot,
                                                                       tmp_path: Path):
    corpus = tmp_path / "two-dates.csv"
    corpus.write_text("booked,flown,x,late\n2013-01-01,2013-02-01,1.0,0\n", encoding="utf-8")
    chooser = backtest.setup.corpus
    with qtbot.waitSignal(chooser.corpus_loaded, timeout=TIMEOUT_MS):
        chooser.set_corpus(corpus)
    assert chooser.time_column() == "booked"  # the first date-like column by default
    with qtbot.waitSignal(chooser.corpus_loaded, timeout=TIMEOUT_MS):
        chooser.set_corpus(corpus, time_column="flown")
    assert chooser.time_column() == "flown"
    with qtbot.waitSignal(chooser.corpus_loaded, timeout=TIMEOUT_MS):
        chooser.set_corpus(corpus)  # a later plain choice does not keep the old wish
    assert chooser.time_column() == "booked"


def test_without_the_demo_corpus_there_is_no_demo_button(ctx, qtbot, tmp_path, monkeypatch):
    from gui.pages import corpus_chooser

    monkeypatch.setattr(corpus_chooser, "demo_corpus", lambda: tmp_path / "absent.csv")
    page = BacktestPage(ctx)
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.history_loaded, timeout=TIMEOUT_MS):
        page.show()
    assert page.setup.corpus.file_button.isVisible()
    assert not page.setup.corpus.demo_button.isVisible()
