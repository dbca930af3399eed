"""The Back-test page offers the champion's category inputs that the corpus has as "Segments",
and a run with one chosen shows the champion's segments by it (issue 18 in the app)."""

from PySide6.QtCore import Qt

from tests.gui.kit import TIMEOUT_MS
from tests.gui.test_demo_data import backtest, click_demo  # noqa: F401

CATEGORY_INPUTS = ["carrier", "origin", "dest"]  # the demo model's


def offered(setup) -> list:
    return [setup.segment.itemData(i) for i in range(setup.segment.count())]


def test_a_segment_chosen_on_the_page_breaks_the_run_down_by_it(backtest, qtbot):  # noqa: F811
    setup = backtest.setup
    click_demo(setup.corpus, qtbot)
    qtbot.waitUntil(lambda: offered(setup) == [None, *CATEGORY_INPUTS], timeout=TIMEOUT_MS)
    assert setup.segment.currentData() is None and setup.setup().segments == ()
    setup.segment.setCurrentIndex(setup.segment.findData("origin"))
    assert setup.setup().segments == ("origin",)

    with qtbot.waitSignal(backtest.run_finished, timeout=TIMEOUT_MS) as done:
        qtbot.mouseClick(backtest.run_button, Qt.MouseButton.LeftButton)
    result = done.args[0].result
    assert [t.column for t in result.segments] == ["origin"]
    assert {s.value for s in result.segments[0].segments} == {"EWR", "JFK", "LGA"}
    # the Segments tab: the ranked table and one small chart per segment over the months
    panel = backtest.results.segments
    assert backtest.results.isTabEnabled(backtest.results.indexOf(panel))
    table = result.segments[0]
    assert panel.table.rowCount() == 3 and len(panel.charts.charts) == 3
    for chart, segment in zip(panel.charts.charts, table.segments, strict=True):
        assert chart.categories == result.partition_keys
        (values,) = chart.series.values()
        assert list(values) == [segment.by_partition.get(k) for k in result.partition_keys]
        assert [y for _, y in chart.lines] == [b for m, _n, b in table.bounds
                                               if m == table.metric]


def test_a_nowtests_segments_are_one_chart_of_the_metric_per_segment(qtbot):
    from engine.formats.segments import OTHER, Segment, SegmentTable
    from gui.pages.segments_panel import SegmentsPanel

    table = SegmentTable("carrier", "roc_auc", False, [
        Segment("MQ", 300, {"roc_auc": 0.81}, missed=["roc_auc 0.81 < min 0.9"]),
        Segment("UA", 500, {"roc_auc": 0.93}),
        Segment(OTHER, 900, {"roc_auc": None}, values=12)], [["roc_auc", "min", 0.9]])
    panel = SegmentsPanel()
    qtbot.addWidget(panel)
    panel.show_tables([table])
    (chart,) = panel.charts.charts
    assert chart.categories == ["MQ", "UA", "other (12)"]
    assert list(chart.series["roc_auc"]) == [0.81, 0.93, None]
    assert chart.lines == [("min 0.9", 0.9)]
    panel.show_tables([])
    assert panel.charts.charts == [] and not panel.isVisible()
