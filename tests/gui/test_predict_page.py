"""The Predict page end to end, with its real workers: check, run, progress, results, cancel."""

import hashlib
import sqlite3
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from engine.batch.score import provenance_path
from engine.errors import Cancelled
from engine.ground.paths import Workspace
from engine.progress import CancelToken, no_progress
from engine.registry.registry import Registry, read_bundle_file
from gui.pages.predict import PredictPage, State
from gui.tasks.models import snapshot
from tests.engine import test_trial_kit as kit
from tests.engine.workspace_kit import DEMO_LABEL
from tests.gui.kit import TIMEOUT_MS, build_test_bundles, copy_sample

bundles, data, flights = kit.bundles, kit.data, kit.flights


@pytest.fixture
def page(ctx, qtbot):
    widget = PredictPage(ctx)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def wait_state(qtbot, page, *states):
    qtbot.waitUntil(lambda: page.state in states, timeout=TIMEOUT_MS)


def test_sample_run_shows_summary_progress_counts_and_writes_output(page, ctx, qtbot):
    progress = []
    ctx.jobs.started.connect(lambda job: job.progress.connect(
        lambda f, m: progress.append((f, m))))
    qtbot.mouseClick(page.sample_button, Qt.MouseButton.LeftButton)
    wait_state(qtbot, page, State.READY)
    assert "2,000" in page.summary.text()
    assert "all 9 columns the model needs are present" in page.summary.text()
    output = page.output_path()
    assert output.name == "flights-2013-07-sample.predictions.csv"
    assert output.parent == ctx.workspace / "reports"  # the shipped folder is not ours

    with qtbot.waitSignal(page.preview_loaded, timeout=TIMEOUT_MS):
        qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)
    assert page.state is State.READY
    assert progress and progress[-1][0] == 1.0
    assert page.results.counts.text() == "2,000 rows scored: 2,000 ok, 0 rejected"
    assert output.is_file() and provenance_path(output).is_file()
    assert page.results.model.rowCount() == 2000
    assert page.results.model.column_name(0) == "status"
    with sqlite3.connect(ctx.workspace / "ratchet.db") as db:  # the batch is in the history
        assert db.execute("SELECT rows, ok FROM batches").fetchall() == [(2000, 2000)]


def test_rejected_rows_can_be_filtered_and_their_reasons_read(page, tmp_path, qtbot):
    def break_some(header, body):
        for i in (4, 9, 1500):
            body[i][header.index("sched_dep_time")] = "12:30"

    page.open_csv(copy_sample(tmp_path, "july.csv", break_some))
    wait_state(qtbot, page, State.READY)
    assert "3 cannot be scored" in page.summary.text()
    assert page.output_path() == tmp_path / "july.predictions.csv"
    with qtbot.waitSignal(page.preview_loaded, timeout=TIMEOUT_MS):
        page.run()
    assert page.results.counts.text() == "2,000 rows scored: 1,997 ok, 3 rejected"

    page.results.only_rejected.setChecked(True)
    model = page.results.model
    assert model.rowCount() == 3
    assert [model.headerData(r, Qt.Orientation.Vertical) for r in range(3)] == \
        ["5", "10", "1,501"]
    tip = model.data(model.index(0, 0), Qt.ItemDataRole.ToolTipRole)
    assert "sched_dep_time" in tip and "12:30" in tip
    page.results.table.selectRow(2)
    assert "Row 1,501 was rejected" in page.results.reason.text()
    assert "Showing all 3 rejected rows" in page.results.note.text()


def test_cancel_leaves_no_output_and_returns_to_ready(page, tmp_path, qtbot):
    folder = tmp_path / "data"
    folder.mkdir()
    big = copy_sample(folder, "big.csv", repeat=150)  # 300,000 rows
    page.open_csv(big)
    wait_state(qtbot, page, State.READY)
    output = page.output_path()
    page.run()
    assert page.state is State.RUNNING
    page.cancel()  # right after the start: the engine stops at its next chunk
    wait_state(qtbot, page, State.READY)
    assert page.run_message.text() == "Cancelled: nothing was written."
    assert not output.exists() and not provenance_path(output).exists()
    assert sorted(p.name for p in folder.iterdir()) == ["big.csv"]  # no temp file left
    assert page.run_button.isEnabled() and page.last_result is None


def test_an_existing_output_is_replaced_only_when_confirmed(page, tmp_path, qtbot, answers):
    source = copy_sample(tmp_path, "july.csv")
    existing = tmp_path / "july.predictions.csv"
    existing.write_text("keep me\n")
    page.open_csv(source)
    wait_state(qtbot, page, State.READY)
    answers.replies.append(QMessageBox.StandardButton.No)
    page.run()
    assert "already exists" in answers.asked[0]
    assert page.state is State.READY and existing.read_text() == "keep me\n"
    with qtbot.waitSignal(page.run_finished, timeout=TIMEOUT_MS):
        page.run()  # the default answer of the fixture: Yes
    assert existing.read_text().startswith("year,month")


@pytest.mark.parametrize(("content", "expected"), [
    ("", "the file is empty"),
    ("year,dep_time,carrier\n2013,610,UA\n", "7 of the 9 columns the model needs are missing"),
])
def test_unusable_files_are_explained_and_cannot_run(page, tmp_path, qtbot, content, expected):
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    page.open_csv(bad)
    wait_state(qtbot, page, State.BLOCKED)
    assert expected in page.summary.text()
    assert not page.run_button.isEnabled()


def test_a_dropped_csv_is_opened(page, tmp_path, qtbot):
    source = copy_sample(tmp_path, "dropped.csv")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(source))])
    event = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    page.dropEvent(event)
    assert page.source == source
    wait_state(qtbot, page, State.READY)


def test_the_model_can_be_chosen_when_several_are_installed(page, ctx, tmp_path, qtbot,
                                                           monkeypatch):
    trust, bundles, _ = build_test_bundles(tmp_path, versions=(1,))
    monkeypatch.setenv("RATCHET_TRUST_STORE", str(trust))
    registry = Registry(Workspace.open(ctx.workspace))
    registry.import_bundle(read_bundle_file(bundles[1]))  # now the latest activated model
    registry.close()
    page.picker.set_snapshot(snapshot(ctx.workspace, progress=no_progress,
                                      cancel=CancelToken()))
    # No silent default to the model activated last: the file's columns choose (issue 14).
    assert page.picker.model_id() is None and page.picker.by_file_chosen()
    assert page.picker.models() == ["demo-flight-delay", "test-model"]
    assert page.picker.combo.count() == 3 and page.picker.combo.isEnabled()
    page.use_sample()
    wait_state(qtbot, page, State.READY)
    assert f"Ready to run with {DEMO_LABEL} (chosen by the file's columns)" in \
        page.summary.text()

    page.picker.choose("test-model")
    wait_state(qtbot, page, State.BLOCKED)
    assert "x0, x1, x2" in page.summary.text()
    page.picker.choose("demo-flight-delay")
    wait_state(qtbot, page, State.READY)
    with qtbot.waitSignal(page.run_finished, timeout=TIMEOUT_MS) as finished:
        page.run()
    assert finished.args[0].model == DEMO_LABEL


def test_a_trials_shadow_runs_after_the_operators_job_in_a_job_of_its_own(
        page, ctx, qtbot, bundles, data, tmp_path, monkeypatch):
    """The Predict job is finished (output written, batch recorded) while the challenger's
    shadow has not even started; the observation arrives afterwards, from the "trial shadow"
    job, which quitting does not ask about; the operator's file is never touched by it."""
    from engine.services import predict as predict_service
    from engine.trial import store
    from engine.trial.trial import start_trial
    from gui import main_window
    from gui.tasks import predict as predict_tasks

    monkeypatch.delenv("RATCHET_TRUST_STORE", raising=False)
    registry = Registry.open(ctx.workspace)
    try:
        _, status = start_trial(registry, bundles["better"], data["corpus"], "time_hour",
                                batches=2)
    finally:
        registry.close()
    release = threading.Event()
    real_shadow = predict_service.shadow_batch

    def held_shadow(*args, **kwargs):
        assert release.wait(TIMEOUT_MS / 1000)
        return real_shadow(*args, **kwargs)
    monkeypatch.setattr(predict_service, "shadow_batch", held_shadow)

    def observations() -> list[dict]:
        reg = Registry.open(ctx.workspace)
        try:
            return store.shadow_rows(reg.db, status.id)
        finally:
            reg.close()

    output = tmp_path / "operator.csv"
    page.open_csv(data["batch"])
    wait_state(qtbot, page, State.READY)
    page.output.set_path(output)
    with qtbot.waitSignal(page.run_finished, timeout=TIMEOUT_MS) as finished:
        page.run()
    assert finished.args[0].output == str(output) and output.is_file()
    assert observations() == []  # the operator's job is done; the shadow waits its turn
    shadow_job = page.shadow_job
    assert shadow_job.name == "trial shadow" and shadow_job.running
    assert "trial shadow" not in main_window.WORK_ON_QUIT  # quitting only skips it
    written = hashlib.sha256(output.read_bytes()).hexdigest()

    with qtbot.waitSignal(shadow_job.done, timeout=TIMEOUT_MS):
        release.set()
    seen = observations()
    assert [(o["kind"], o["input"], o["error"]) for o in seen] == [
        ("batch", str(data["batch"]), None)]
    assert Path(seen[0]["output"]).parent == ctx.workspace / "trials" / str(status.id)
    assert hashlib.sha256(output.read_bytes()).hexdigest() == written

    # a shadow cancelled before it starts (on quit) records nothing at all
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        predict_tasks.shadow_file(ctx.workspace, finished.args[0], progress=no_progress,
                                  cancel=token)
    assert len(observations()) == 1


def test_the_status_column_shows_rejected_whole(page, tmp_path, qtbot):
    def break_one(header, body):  # far below the rows on screen when the table is sized
        body[1800][header.index("sched_dep_time")] = "12:30"

    page.open_csv(copy_sample(tmp_path, "july.csv", break_one))
    wait_state(qtbot, page, State.READY)
    with qtbot.waitSignal(page.preview_loaded, timeout=TIMEOUT_MS):
        page.run()
    table, model = page.results.table, page.results.model
    status = next(c for c in range(model.columnCount()) if model.column_name(c) == "status")
    needed = table.fontMetrics().horizontalAdvance("rejected")
    assert table.columnWidth(status) > needed  # not cut to "reje…"
