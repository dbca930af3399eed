"""Running again asks before replacing the predictions the last run wrote (they may be open or
kept); declining keeps them byte for byte."""

from PySide6.QtWidgets import QMessageBox

from gui.pages.predict import State
from tests.gui.kit import TIMEOUT_MS
from tests.gui.test_predict_page import copy_sample, page, wait_state  # noqa: F401


def test_run_again_asks_before_replacing_the_last_output(page, tmp_path, qtbot,  # noqa: F811
                                                         answers):
    source = copy_sample(tmp_path, "july.csv")
    page.open_csv(source)
    wait_state(qtbot, page, State.READY)
    with qtbot.waitSignal(page.run_finished, timeout=TIMEOUT_MS):
        page.run()
    assert answers.asked == []  # a new file: nothing to ask
    output = page.output_path()
    first = output.read_bytes()
    output.write_bytes(first + b"# the operator's note\n")

    answers.replies.append(QMessageBox.StandardButton.No)
    page.run()
    assert "already exists" in answers.asked[-1] and str(output) in answers.asked[-1]
    assert page.state is State.READY
    assert output.read_bytes() == first + b"# the operator's note\n"

    with qtbot.waitSignal(page.run_finished, timeout=TIMEOUT_MS):
        page.run()  # the fixture's default answer: Yes
    assert output.read_bytes() == first
