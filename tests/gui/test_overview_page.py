"""The Overview page: is everything all right? One line per installed model, the one thing to
do next, and the app opens on it."""

import pytest

from engine.alarms.store import raise_alarms
from engine.nowtest.result import AlarmReason
from engine.progress import CancelToken, no_progress
from engine.registry.registry import Registry
from engine.services import models as services_models
from gui.context import AppContext
from gui.main_window import MainWindow
from gui.pages.overview import NO_MODEL, OverviewPage
from gui.tasks import overview as tasks
from gui.tasks.regression import run_regression
from gui.workers import Jobs
from tests.engine.workspace_kit import DEMO_ID, DEMO_LABEL, DEMO_VERSION
from tests.gui.kit import TIMEOUT_MS, build_test_bundles


def _load(workspace) -> tasks.Overview:
    return tasks.load_overview(workspace, progress=no_progress, cancel=CancelToken())


def _regress(workspace, model="demo-flight-delay"):
    run_regression(workspace, model, progress=no_progress, cancel=CancelToken())


@pytest.fixture
def two_models(workspace, tmp_path, monkeypatch):
    """The demo model and a second, signed test model, both installed and active."""
    trust, bundles, _ = build_test_bundles(tmp_path, versions=(1,))
    monkeypatch.setenv("RATCHET_TRUST_STORE", str(trust))
    with Registry.open(workspace) as registry:
        services_models.install(registry, bundles[1].read_bytes())
    return workspace


def _alarm(workspace, label=DEMO_LABEL):
    with Registry.open(workspace) as registry:
        raise_alarms(registry.db, label, None, [AlarmReason(
            "metric", "accuracy", 0.61, 0.8, f"{label}: accuracy 0.61 is under its minimum 0.8.")])


def test_a_new_model_is_asked_for_its_first_regression_run(workspace):
    (status,) = _load(workspace).models
    assert (status.model_id, status.version, status.expiry_state) == \
        (DEMO_ID, DEMO_VERSION, "ok")
    assert status.regression_passed is None and status.open_alarms == 0
    assert status.health is tasks.Health.ATTENTION
    assert status.next_page == "regression"
    assert "no regression run yet" in status.next_step


def test_the_next_step_goes_from_regression_to_now_test_and_alarms_come_first(workspace):
    _regress(workspace)
    (status,) = _load(workspace).models
    assert status.regression_passed is True and status.regression_run == 1
    assert status.next_page == "monitor" and "No now-test yet" in status.next_step
    _alarm(workspace)
    (status,) = _load(workspace).models
    assert status.open_alarms == 1 and status.health is tasks.Health.PROBLEM
    assert status.next_step.startswith("1 open alarm: look at it on the Monitor page")


def test_two_models_each_get_their_line_and_their_own_alarms(two_models):
    _alarm(two_models, "test-model@1")
    overview = _load(two_models)
    assert [m.model_id for m in overview.models] == ["demo-flight-delay", "test-model"]
    demo, test = overview.models
    assert (demo.open_alarms, test.open_alarms) == (0, 1)
    assert test.next_page == "monitor" and demo.next_page == "regression"
    assert not overview.all_right


def test_a_deactivated_model_says_so(two_models):
    with Registry.open(two_models) as registry:
        services_models.deactivate(registry, "test-model")
    test = _load(two_models).models[1]
    assert test.version is None and test.next_page == "models"
    assert "No version of test-model is active" in test.next_step


def test_the_page_shows_each_model_and_the_answer(two_models, jobs, qtbot, shots):
    _regress(two_models)
    _alarm(two_models, "test-model@1")
    page = OverviewPage(AppContext(two_models, jobs))
    qtbot.addWidget(page)
    page.resize(1180, 520)
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT_MS):
        page.show()  # shown: read
    assert page.table.rowCount() == 2
    assert [page.table.item(r, 0).text() for r in range(2)] == ["demo-flight-delay",
                                                                 "test-model"]
    assert page.table.item(0, 3).text() == "passed (run 1)"
    assert page.table.item(1, 3).text() == "never run"
    assert page.table.item(1, 5).text() == "1"
    assert page.answer.text().startswith("1 of 2 models needs action now")
    page.grab().save(str(shots / "overview-two-models.png"))
    with qtbot.waitSignal(page.open_page, timeout=TIMEOUT_MS) as opened:
        page.table.cellDoubleClicked.emit(1, 0)
    assert opened.args == ["monitor"]


def test_the_page_says_everything_is_all_right_when_it_is(workspace, jobs, qtbot):
    _regress(workspace)
    overview = _load(workspace)
    status = overview.models[0]
    fine = tasks.Overview([tasks.ModelStatus(**{
        **{f: getattr(status, f) for f in tasks.ModelStatus.__dataclass_fields__},
        "nowtest_at": "2026-01-05T10:00:00Z", "nowtest_input": "jan.csv",
        "nowtest_alarm": False, "health": tasks.Health.OK, "next_step": None,
        "next_page": None})])
    page = OverviewPage(AppContext(workspace, jobs))
    qtbot.addWidget(page)
    page._loaded(fine)
    assert page.answer.text().startswith("Everything is all right")
    assert page.table.item(0, 6).text() == "Nothing: all is well."


def test_a_failed_read_keeps_the_last_overview_and_says_why(workspace, jobs, qtbot):
    page = OverviewPage(AppContext(workspace, jobs))
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT_MS):
        page.show()
    page._failed(OSError("disk I/O error"))
    assert page.table.rowCount() == 1 and not page.error.isHidden()
    assert "could not be read: disk I/O error" in page.error.text()


def test_an_empty_workspace_says_to_import_a_bundle(tmp_path, qtbot):
    jobs = Jobs()
    try:
        window = MainWindow(AppContext(tmp_path / "empty", jobs))
        qtbot.addWidget(window)
        with qtbot.waitSignal(window.overview.loaded, timeout=TIMEOUT_MS):
            window.show()
        assert window.current_page() == "overview"
        assert window.overview.answer.text() == NO_MODEL
    finally:
        jobs.shutdown()
