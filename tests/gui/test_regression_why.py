"""The Regression page's "Why?" panel: selecting a case (a bundle's, or an outlier pinned on
this workstation) explains its prediction with the version that ran the suite."""

import pytest

from engine.progress import CancelToken, no_progress
from gui.pages.regression_tables import CASE_ROLE
from gui.tasks import models as models_tasks
from gui.tasks import regression as tasks
from tests.engine import models_kit as kit
from tests.gui.kit import TIMEOUT_MS
from tests.gui.test_regression_page import cell, page  # noqa: F401

SMALL = "test-small"


def explained(qtbot, page, row: int):  # noqa: F811
    page.cases.selectRow(row)
    qtbot.waitUntil(lambda: page.why.why is not None, timeout=TIMEOUT_MS)
    return page.why.why


def test_a_bundle_case_and_a_pinned_outlier_are_explained(page, ctx, qtbot):  # noqa: F811
    kit.trust_alice(ctx.workspace)
    kit.add_small(ctx.workspace)
    row = {"x0": "0.5", "x1": "-1.25", "x2": "2", "note": "kept as written"}
    tasks.pin_outlier(ctx.workspace, f"{SMALL}@1", row, "seen on the night shift",
                      "small.csv row 7", progress=no_progress, cancel=CancelToken())
    page.picker.set_snapshot(models_tasks.snapshot(ctx.workspace, progress=no_progress,
                                                   cancel=CancelToken()))
    page.picker.choose(SMALL)
    assert page.picker.model_id() == SMALL
    with qtbot.waitSignal(page.run_finished, timeout=TIMEOUT_MS) as done:
        page.run()
    result = done.args[0].result
    assert result.model == f"{SMALL}@1"

    why = explained(qtbot, page, 0)
    case = result.cases[page.cases.item(0, 0).data(CASE_ROLE)]
    assert why.model == f"{SMALL}@1"
    assert [value for _, value, _ in why.items] == [case.inputs[c] for c in kit.SMALL]
    assert why.base + sum(c for *_, c in why.items) == pytest.approx(why.score, abs=1e-12)
    assert page.why.title.text() == f"Why? (row {case.row})"

    pinned = next(r for r in range(page.cases.rowCount())
                  if cell(page.cases, r, "Source") == "small.csv row 7")
    page.why.why = None
    why = explained(qtbot, page, pinned)
    assert [value for _, value, _ in why.items] == ["0.5", "-1.25", "2"]
    assert page.why.table.rowCount() == 3 and page.why.chart.isVisible()
