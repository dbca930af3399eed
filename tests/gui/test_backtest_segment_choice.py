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
