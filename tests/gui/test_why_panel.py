"""The Predict page's "Why?" panel: selecting a scored row explains it (in words, a waterfall
and each input beside its contribution, adding up to the row's score); a rejected row says
there is nothing to explain; a model that cannot explain says so in place of the panel."""

import numpy as np
import pytest

from gui.pages.predict import State
from gui.waterfall import collapse
from tests.engine import models_kit as kit
from tests.gui.kit import TIMEOUT_MS
from tests.gui.test_predict_page import page, wait_state  # noqa: F401


def run_file(qtbot, page, path):  # noqa: F811
    page.open_csv(path)
    wait_state(qtbot, page, State.READY)
    with qtbot.waitSignal(page.run_finished, timeout=TIMEOUT_MS):
        page.run()
    qtbot.waitUntil(lambda: page.results.model.rowCount() > 0, timeout=TIMEOUT_MS)


def select(qtbot, page, row: int):  # noqa: F811
    page.results.table.selectRow(row)
    qtbot.waitUntil(lambda: page.results.why.why is not None
                    or "Explaining" not in page.results.why.text.text(), timeout=TIMEOUT_MS)


def test_a_selected_row_is_explained_and_a_rejected_one_is_not(page, ctx, qtbot,  # noqa: F811
                                                               tmp_path):
    kit.trust_alice(ctx.workspace)
    kit.add_small(ctx.workspace)
    path = kit.write(tmp_path / "small.csv", kit.SMALL, rows=30)
    text = path.read_text().splitlines()
    cells = text[3].split(",")
    cells[0] = "abc"  # row 3 of the file is rejected
    text[3] = ",".join(cells)
    path.write_text("\n".join(text) + "\n")
    run_file(qtbot, page, path)

    select(qtbot, page, 0)
    why = page.results.why.why
    assert why is not None and why.model == "test-small@1"
    assert page.results.why.title.text() == "Why? (row 1)"
    assert "Prediction:" in page.results.why.text.text()
    assert "log-odds" in page.results.why.text.text()
    assert why.base + sum(c for *_, c in why.items) == pytest.approx(why.score, abs=1e-12)
    assert page.results.why.table.rowCount() == 3 and page.results.why.chart.isVisible()
    shown = [page.results.why.table.item(r, 0).text() for r in range(3)]
    assert shown == [n for n, *_ in sorted(why.items, key=lambda i: -abs(i[2]))]
    bars = page.results.why.chart.steps()
    assert bars[0][1] == why.base and bars[-1][2] == pytest.approx(why.score, abs=1e-12)

    page.results.table.selectRow(2)  # the third data row is the rejected one
    assert page.results.why.why is None
    assert "was rejected, so there is nothing to explain" in page.results.why.text.text()


def test_collapse_keeps_the_strongest_and_sums_the_rest():
    items = [("a", 0.1), ("b", -2.0), ("c", 0.5), ("d", -0.05), ("e", 0.01)]
    shown = collapse(items, 3)
    assert shown[:2] == [("b", -2.0), ("c", 0.5)]
    assert shown[2][0] == "3 other inputs"
    assert shown[2][1] == pytest.approx(0.1 - 0.05 + 0.01)
    assert np.isclose(sum(v for _, v in shown), sum(v for _, v in items))
