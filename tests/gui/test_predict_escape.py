"""Escape cancels a prediction on the Predict page, as Cancel does (and as on the run panels)."""

from PySide6.QtCore import Qt

from engine.batch.score import provenance_path
from gui.pages.predict import State
from tests.gui.test_predict_page import copy_sample, page, wait_state  # noqa: F401


def test_escape_cancels_a_run_and_nothing_is_written(page, tmp_path, qtbot):  # noqa: F811
    folder = tmp_path / "data"
    folder.mkdir()
    big = copy_sample(folder, "big.csv", repeat=150)  # 300,000 rows
    page.open_csv(big)
    wait_state(qtbot, page, State.READY)
    qtbot.keyClick(page, Qt.Key.Key_Escape)  # nothing runs: nothing happens
    assert page.state is State.READY
    output = page.output_path()
    page.run()
    assert page.state is State.RUNNING and page.escape.isEnabled()
    qtbot.keyClick(page, Qt.Key.Key_Escape)
    assert page.progress.message.text() == "Cancelling…"
    wait_state(qtbot, page, State.READY)
    assert page.run_message.text() == "Cancelled: nothing was written."
    assert not output.exists() and not provenance_path(output).exists()
    assert not page.escape.isEnabled()
