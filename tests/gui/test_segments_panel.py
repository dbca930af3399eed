"""Segments in the app, from real runs of the demo model on real flights: the Monitor page shows
the segments of the chosen now-test (ranked as the engine ranked them, flagged rows with their
verdict) and hides them for a now-test without; the Back-test page's results show the
champion's segments of a run made through the page's own task (gui.tasks.backtest.run with
segments), and disable the tab for a run without."""

import pytest
from PySide6.QtCore import Qt

from engine.formats.segments import OTHER, SegmentTable
from engine.ground.shipped import shipped_dir
from engine.progress import CancelToken, no_progress
from engine.registry.registry import Registry
from engine.services.nowtest import record_and_raise
from engine.services.segments import nowtest_segmented
from gui.pages.backtest_results import Results
from gui.pages.monitor import MonitorPage
from gui.pages.segments_panel import FIXED, VALUE_ROLE
from gui.tasks import backtest as backtest_tasks
from tests.gui.kit import TIMEOUT_MS

SAMPLES = shipped_dir("resources") / "samples"
MONTH = SAMPLES / "demo-flights-2013-08.csv"
YEAR = SAMPLES / "demo-flights-2013.csv"


def texts(table, column: int) -> list[str]:
    return [table.item(r, column).text() for r in range(table.rowCount())]


def assert_table_is(table, engine_table) -> None:
    engine_table = SegmentTable.from_json(engine_table.to_json())  # as stored: NaN as None
    segments = engine_table.segments
    assert table.rowCount() == len(segments)
    names = [f"other ({s.values} values)" if s.value == OTHER else s.value for s in segments]
    assert texts(table, FIXED.index("Segment")) == names
    assert texts(table, FIXED.index("Rows")) == [f"{s.rows:,}" for s in segments]
    metric = FIXED.index("Metric")
    assert [table.item(r, metric).data(VALUE_ROLE) for r in range(len(segments))] == \
        [s.metrics.get(engine_table.metric) for s in segments]
    verdicts = texts(table, FIXED.index("Verdict"))
    for s, verdict in zip(segments, verdicts, strict=True):
        assert (verdict == "ok") == (not s.flagged)
        for missed in s.missed:
            assert f"missed: {missed}" in verdict
    header = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert header[:6] == ["#", engine_table.column, "Rows", engine_table.metric,
                          "95% interval", "Verdict"]


@pytest.fixture
def recorded(workspace):
    """(the now-test with segments by carrier and origin, the plain one), recorded."""
    with Registry.open(workspace) as registry:
        segmented = nowtest_segmented(registry, MONTH, None, ["carrier", "origin"])
        plain = nowtest_segmented(registry, MONTH)
        seg_id, _ = record_and_raise(registry.db, segmented, "app")
        plain_id, _ = record_and_raise(registry.db, plain, "app")
    return segmented, seg_id, plain_id


def choose(page, nowtest_id: int) -> None:
    table = page.nowtests
    row = next(r for r in range(table.rowCount())
               if table.item(r, 0).data(Qt.ItemDataRole.UserRole) == nowtest_id)
    table.selectRow(row)


def test_monitor_shows_the_segments_of_the_chosen_now_test(ctx, qtbot, recorded):
    result, seg_id, plain_id = recorded
    page = MonitorPage(ctx)
    qtbot.addWidget(page)
    page.resize(1100, 900)
    page.show()
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT_MS):
        page.refresh()
    choose(page, seg_id)
    panel = page.segments
    assert panel.isVisible() and panel.column_combo.isVisible()
    carrier, origin = result.segments
    assert_table_is(panel.table, carrier)
    missed = sum(bool(s.missed) for s in carrier.segments)
    assert missed and panel.title.text() == (
        f"Segments by carrier: {missed} of {len(carrier.segments)} miss a bound, 0 drifted")
    panel.column_combo.setCurrentIndex(1)
    assert_table_is(panel.table, origin)
    choose(page, plain_id)
    assert not panel.isVisible()


def test_backtest_results_show_the_champions_segments(ctx, qtbot, workspace):
    setup = backtest_tasks.Setup(YEAR, "date", "month", None, segments=("origin",))
    outcome = backtest_tasks.run(workspace, setup, progress=no_progress, cancel=CancelToken())
    (table,) = outcome.result.segments
    assert table.column == "origin"
    results = Results()
    qtbot.addWidget(results)
    results.show()
    results.show_result(outcome.result)
    tab = results.indexOf(results.segments)
    assert results.isTabEnabled(tab) and results.tabText(tab) == "Segments"
    results.setCurrentIndex(tab)
    assert results.segments.isVisible() and not results.segments.column_combo.isVisible()
    assert_table_is(results.segments.table, table)
    # shown again from the history: the stored run keeps its segments
    (past,) = [r for r in outcome.history if r.id == outcome.run_id]
    results.show_result(past.result)
    assert_table_is(results.segments.table, table)
    plain = backtest_tasks.run(workspace, backtest_tasks.Setup(YEAR, "date", "month", None),
                               progress=no_progress, cancel=CancelToken())
    results.show_result(plain.result)
    assert not results.isTabEnabled(tab) and results.segments.table.rowCount() == 0
