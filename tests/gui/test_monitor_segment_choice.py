"""Monitor: "Now-test a file…" can break the now-test down by one of the chosen model's category
inputs (issue 18 in the app); with "All models" there is nothing to choose."""

from engine.ground.shipped import demo_month
from engine.progress import CancelToken, no_progress
from gui.tasks.models import snapshot
from tests.engine.workspace_kit import DEMO_ID
from tests.gui.kit import TIMEOUT_MS
from tests.gui.test_monitor_page import page  # noqa: F401


def offered(combo) -> list:
    return [combo.itemData(i) for i in range(combo.count())]


def test_a_file_now_tested_by_carrier_shows_its_segments(page, ctx, qtbot):  # noqa: F811
    assert offered(page.segment) == [None] and not page.segment.isEnabled()
    page.picker.set_snapshot(snapshot(ctx.workspace, progress=no_progress,
                                      cancel=CancelToken()))
    page.picker.choose(DEMO_ID)
    qtbot.waitUntil(lambda: offered(page.segment) == [None, "carrier", "origin", "dest"],
                    timeout=TIMEOUT_MS)
    page.segment.setCurrentIndex(page.segment.findData("carrier"))
    with qtbot.waitSignal(page.nowtest_finished, timeout=TIMEOUT_MS) as done:
        page.nowtest(demo_month(), DEMO_ID)
    result = done.args[0].result
    assert [t.column for t in result.segments] == ["carrier"]
    assert sum(s.rows for s in result.segments[0].segments) == result.labelled

    page.picker.choose(None)  # "All models": the model comes from the file
    qtbot.waitUntil(lambda: offered(page.segment) == [None], timeout=TIMEOUT_MS)
    assert not page.segment.isEnabled()
