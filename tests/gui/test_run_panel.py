"""The run panel every running page shares: progress, Cancel (and Escape), the verdict, the
history read and the report."""

import threading

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from engine.errors import InputError
from gui.run_panel import Report, RunPanel
from tests.gui.kit import TIMEOUT_MS


class Verdict(QLabel):
    def clear(self, text: str) -> None:
        self.setText(text)


def held_job(started: threading.Event, steps: list[str]):
    """A job that reports progress until it is cancelled, as engine work does."""
    def work(*, progress, cancel):
        started.set()
        while True:
            cancel.check()
            progress(0.5, "step")
            steps.append("step")
            threading.Event().wait(0.005)
    return work


def panel_page(ctx, qtbot):
    page = QWidget()
    verdict = Verdict()
    panel = RunPanel(ctx, verdict=verdict, failed="It could not run.",
                     cancelled="Cancelled: nothing was recorded.")
    layout = QVBoxLayout(page)
    layout.addWidget(panel)
    layout.addWidget(verdict)
    qtbot.addWidget(page)
    page.show()
    page.activateWindow()
    qtbot.waitExposed(page)
    return page, panel, verdict


def test_escape_cancels_at_once_and_the_verdict_follows_the_engine(ctx, qtbot):
    page, panel, verdict = panel_page(ctx, qtbot)
    busy = []
    panel.busy_changed.connect(busy.append)
    started, steps = threading.Event(), []
    job = panel.run("long", held_job(started, steps), then=lambda r: None, message="Working…")
    assert panel.running and panel.progress.isVisible() and verdict.text() == "Running…"
    assert started.wait(TIMEOUT_MS / 1000)
    qtbot.waitUntil(lambda: panel.progress.message.text() == "step", timeout=TIMEOUT_MS)
    qtbot.keyClick(page, Qt.Key.Key_Escape)
    # instant: the token is cancelled, Cancel is off and says so; later progress is not shown
    assert job.token.cancelled and not panel.progress.cancel_button.isEnabled()
    assert panel.progress.message.text() == "Cancelling…"
    with qtbot.waitSignal(job.done, timeout=TIMEOUT_MS):
        pass
    assert panel.progress.message.text() == "Cancelling…" and not panel.progress.isVisible()
    assert verdict.text() == "Cancelled: nothing was recorded." and not panel.running
    assert busy == [True, False]


def test_escape_does_nothing_while_nothing_runs(ctx, qtbot):
    page, panel, verdict = panel_page(ctx, qtbot)
    assert not panel.escape.isEnabled()
    with qtbot.waitSignal(panel.busy_changed, timeout=TIMEOUT_MS):
        panel.run("quick", lambda *, progress, cancel: 7, then=verdict.setNum, message="…")
    qtbot.waitUntil(lambda: not panel.running, timeout=TIMEOUT_MS)
    qtbot.keyClick(page, Qt.Key.Key_Escape)
    assert verdict.text() == "7" and not panel.escape.isEnabled()


def test_a_failed_run_tells_the_verdict_and_shows_the_error(ctx, qtbot, shown_errors):
    _page, panel, verdict = panel_page(ctx, qtbot)

    def fail(*, progress, cancel):
        raise InputError("the corpus has no label column.", "E_MISSING_COLUMN")

    with qtbot.waitSignal(panel.run("fail", fail, then=verdict.setText, message="…").done,
                          timeout=TIMEOUT_MS):
        pass
    assert verdict.text() == "It could not run." and not panel.running
    assert [e.code for e in shown_errors] == ["E_MISSING_COLUMN"]


def test_a_run_drops_the_history_read_in_progress_and_a_newer_read_the_older(ctx, qtbot):
    _page, panel, _verdict = panel_page(ctx, qtbot)
    release = threading.Event()
    histories = []

    def read(label, *, progress, cancel):
        release.wait(TIMEOUT_MS / 1000)
        return label

    panel.read_history("history", read, "older", then=histories.append)
    panel.read_history("history", read, "newer", then=histories.append)
    release.set()
    qtbot.waitUntil(lambda: ctx.jobs.running() == [], timeout=TIMEOUT_MS)
    assert histories == ["newer"]

    release.clear()
    panel.read_history("history", read, "read before the run", then=histories.append)
    with qtbot.waitSignal(panel.busy_changed, timeout=TIMEOUT_MS) as ended:
        panel.run("run", lambda *, progress, cancel: "run", then=histories.append,
                  message="…")
        release.set()
    qtbot.waitUntil(lambda: ctx.jobs.running() == [], timeout=TIMEOUT_MS)
    assert histories == ["newer", "run"] and ended.args == [True]


def test_export_writes_the_report_where_the_operator_chose(ctx, qtbot, tmp_path,
                                                           monkeypatch):
    from gui import dialogs

    _page, panel, _verdict = panel_page(ctx, qtbot)
    result = {"shown": None}
    panel.offer_report(lambda: None if result["shown"] is None else Report(
        "test report", "Export the test report", "test.html", write_report, (result["shown"],)))
    assert not panel.export_button.isEnabled()
    result["shown"] = "the verdict"
    panel.update_buttons()
    assert panel.export_button.isEnabled()
    chosen = tmp_path / "chosen.html"
    monkeypatch.setattr(dialogs, "choose_report_path", lambda *a: chosen)
    with qtbot.waitSignal(panel.report_written, timeout=TIMEOUT_MS) as written:
        panel.export_button.click()
    assert written.args == [chosen] and chosen.read_text() == "the verdict"
    assert panel.message.text() == f"Report saved to {chosen}." and \
        panel.export_button.isEnabled()


def write_report(text, path, *, progress, cancel):
    path.write_text(text)
    return path


def test_after_a_good_run_a_failure_keeps_the_verdict_and_says_the_error_beside_it(
        ctx, qtbot, shown_errors):
    _page, panel, verdict = panel_page(ctx, qtbot)
    with qtbot.waitSignal(panel.run("good", lambda *, progress, cancel: "PASSED: 12 cases",
                                    then=verdict.setText, message="…").done,
                          timeout=TIMEOUT_MS):
        pass

    def fail(*, progress, cancel):
        raise InputError("the corpus has no label column.", "E_MISSING_COLUMN")

    job = panel.run("fail", fail, then=verdict.setText, message="…")
    assert verdict.text() == "PASSED: 12 cases"  # not wiped by "Running…"
    with qtbot.waitSignal(job.done, timeout=TIMEOUT_MS):
        pass
    assert verdict.text() == "PASSED: 12 cases"
    assert panel.message.text() == ("It could not run. the corpus has no label column. The "
                                    "result shown is the last good one.")
    assert [e.code for e in shown_errors] == ["E_MISSING_COLUMN"]
    job = panel.run("good again", lambda *, progress, cancel: "PASSED", then=verdict.setText,
                    message="…")
    assert not panel.message.isVisible()  # a new run clears the last run's messages
    with qtbot.waitSignal(job.done, timeout=TIMEOUT_MS):
        pass
    assert verdict.text() == "PASSED" and panel.message.text() == ""
