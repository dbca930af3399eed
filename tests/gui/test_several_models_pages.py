"""Every page with two and three models installed (issue 14): the demo flight model, then the
sensor model (30 inputs, none shared with the flights, activated after it) and a small
three-input model (tests/engine/models_kit.py). Each page shows and uses the right model: a
file's columns choose it where none is chosen (several fit: the page asks; none: it says what
each lacks), never the model activated last; the status bar says per model what is active."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog

from engine.ground.shipped import demo_month
from engine.registry import choice
from engine.registry.registry import Registry
from gui.main_window import MainWindow
from gui.pages.monitor_tables import ALARM_COLUMNS, NOWTEST_COLUMNS
from gui.pages.predict import State
from tests.engine import models_kit as kit
from tests.engine.bundle_kit import NOW
from tests.engine.workspace_kit import DEMO_ID, DEMO_LABEL
from tests.gui.kit import TIMEOUT_MS

SENSORS, SMALL = "test-sensors@1", "test-small@1"


def cells(table, column: str, columns: list[str]) -> list[str]:
    c = columns.index(column)
    return [table.item(r, c).text() for r in range(table.rowCount())]


@pytest.fixture
def open_window(ctx, qtbot):
    """Opens the main window on the workspace as it is. Closed at the end of the test, it
    quits as File > Quit does (every job cancelled and joined), without asking."""

    def open_() -> MainWindow:
        window = MainWindow(ctx)
        qtbot.addWidget(window)
        window.prepare_quit()
        window.resize(1180, 780)
        with qtbot.waitSignal(window.models.snapshot_loaded, timeout=TIMEOUT_MS):
            window.show()
        return window

    return open_


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    return {"flights": kit.flights(tmp_path / "in" / "flights.csv"),
            "sensors": kit.write(tmp_path / "in" / "sensors.csv", kit.SENSORS),
            "both": kit.write(tmp_path / "in" / "both.csv", kit.SENSORS + kit.SMALL),
            "neither": kit.write(tmp_path / "in" / "neither.csv", ["a", "b"])}


@pytest.fixture
def two(ctx, open_window) -> MainWindow:
    """The demo model, then test-sensors (activated after it)."""
    kit.add_sensors(ctx.workspace)
    return open_window()


@pytest.fixture
def three(ctx, open_window) -> MainWindow:
    kit.add_sensors(ctx.workspace)
    kit.add_small(ctx.workspace)
    return open_window()


def check(qtbot, page, path: Path, *states: State) -> None:
    page.open_csv(path)
    qtbot.waitUntil(lambda: page.state in states, timeout=TIMEOUT_MS)


def run(qtbot, page) -> str:
    with qtbot.waitSignal(page.run_finished, timeout=TIMEOUT_MS) as finished:
        page.run()
    return finished.args[0].model


# -- Predict ----------------------------------------------------------------------------------
def test_predict_takes_the_model_the_files_columns_fit_not_the_newest(two, files, qtbot):
    page = two.predict
    assert page.picker.by_file_chosen()  # no model chosen for the operator
    assert page.picker.models() == [DEMO_ID, "test-sensors"]
    check(qtbot, page, files["flights"], State.READY)
    assert f"Ready to run with {DEMO_LABEL} (chosen by the file's columns)" in \
        page.summary.text()
    assert run(qtbot, page) == DEMO_LABEL  # not test-sensors, activated after it
    check(qtbot, page, files["sensors"], State.READY)
    assert f"{SENSORS} (chosen by the file's columns)" in page.summary.text()
    assert run(qtbot, page) == SENSORS


def test_predict_asks_when_several_models_fit_and_names_what_each_lacks_when_none(
        three, files, qtbot, shots):
    page = three.predict
    three.show_page("predict")
    check(qtbot, page, files["both"], State.BLOCKED)
    three.grab().save(str(shots / "several-predict-asks.png"))
    text = page.summary.text()
    assert "Several models fit this file: choose one under “Model” above." in text
    assert SENSORS in text and SMALL in text and not page.run_button.isEnabled()

    page.picker.choose("test-small")  # the operator answers: the file is checked again
    qtbot.waitUntil(lambda: page.state is State.READY, timeout=TIMEOUT_MS)
    assert f"Ready to run with {SMALL}." in page.summary.text()
    assert run(qtbot, page) == SMALL

    page.picker.choose(None)
    check(qtbot, page, files["neither"], State.BLOCKED)
    text = page.summary.text()
    assert "No installed model fits this file." in text
    assert f"{DEMO_LABEL} lacks" in text and f"{SMALL} lacks &#x27;x0&#x27;" in text
    assert f"{SENSORS} lacks &#x27;s00&#x27;" in text and "and 22 more" in text
    three.grab().save(str(shots / "several-predict-none-fits.png"))


def test_a_csv_handed_to_the_app_is_checked_by_its_columns(two, files, qtbot):
    """`ratchet FILE.csv` (and a second launch) hands the file over: no model is picked for
    it, its columns choose."""
    two.open_request({"predict": str(files["sensors"])})
    qtbot.waitUntil(lambda: two.predict.state is State.READY, timeout=TIMEOUT_MS)
    assert two.current_page() == "predict"
    assert two.predict.checked.model_label == SENSORS and two.predict.checked.by_columns


# -- the status bar ----------------------------------------------------------------------------
def test_the_status_bar_says_per_model_what_is_active(three, ctx, qtbot):
    status = three.model_status
    assert status.text() == f"Models: {DEMO_LABEL} · {SENSORS} · {SMALL}"
    assert status.toolTip().startswith(status.text())
    assert f"{SENSORS} expires " in status.toolTip()

    with Registry.open(ctx.workspace) as registry:
        choice.deactivate(registry, "test-small")
    with qtbot.waitSignal(three.models.snapshot_loaded, timeout=TIMEOUT_MS):
        three.models.refresh()  # as after every import, activation, deactivation, rollback
    assert status.text() == f"Models: {DEMO_LABEL} · {SENSORS} · test-small deactivated"
    assert three.predict.picker.models() == [DEMO_ID, "test-sensors"]

    three.resize(420, 300)  # narrow: one line, elided; the whole of it in the tooltip
    qtbot.waitUntil(lambda: status.shown_text() != status.text(), timeout=TIMEOUT_MS)
    assert status.shown_text().endswith("…") and "deactivated" in status.toolTip()

    with Registry.open(ctx.workspace) as registry:
        registry.activate("test-small", 1)
    with qtbot.waitSignal(three.models.snapshot_loaded, timeout=TIMEOUT_MS):
        three.models.refresh()
    assert status.text().endswith(f"· {SMALL}")


def test_the_launchers_first_status_line_says_per_model_what_is_active(ctx):
    """Before any window: `ratchet` opens with the same line, not "the model activated
    last"."""
    from gui.tasks.startup import prepare_workspace as _prepare_workspace

    kit.add_sensors(ctx.workspace)
    kit.add_small(ctx.workspace)
    with Registry.open(ctx.workspace) as registry:
        choice.deactivate(registry, DEMO_ID)
    status, _findings = _prepare_workspace(ctx.workspace)
    assert status == f"Models: {DEMO_ID} deactivated · {SENSORS} · {SMALL}"


# -- Monitor ----------------------------------------------------------------------------------
def nowtest(qtbot, page, path: Path, model_ref: str | None = None):
    with qtbot.waitSignal(page.nowtest_finished, timeout=TIMEOUT_MS) as done:
        page.nowtest(path, model_ref)
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT_MS):
        pass  # the page reads the history again after each now-test
    return done.args[0].result


def test_monitor_now_tests_by_the_files_columns_and_filters_by_model(
        two, files, qtbot, shown_errors, shots, monkeypatch):
    page = two.monitor
    two.show_page("monitor")
    assert page.picker.by_file_chosen()  # "All models": a now-test by the file's columns
    assert page.picker.models() == [DEMO_ID, "test-sensors"]
    assert nowtest(qtbot, page, files["flights"]).model == DEMO_LABEL
    assert nowtest(qtbot, page, files["sensors"]).model == SENSORS
    assert sorted(cells(page.nowtests, "Model", NOWTEST_COLUMNS)) == [DEMO_LABEL, SENSORS]

    page.picker.choose("test-sensors")  # history, chart and alarms of that model only
    assert cells(page.nowtests, "Model", NOWTEST_COLUMNS) == [SENSORS]
    assert [page.model_combo.itemText(i) for i in range(page.model_combo.count())] == \
        [SENSORS]
    assert set(cells(page.alarms, "Model", ALARM_COLUMNS)) <= {SENSORS}
    page.picker.choose(DEMO_ID)
    assert cells(page.nowtests, "Model", NOWTEST_COLUMNS) == [DEMO_LABEL]
    page.picker.choose(None)
    assert page.nowtests.rowCount() == 2
    two.grab().save(str(shots / "several-monitor-all.png"))

    # "Now-test a file…" uses the chosen model, even on a file made for the other one
    page.picker.choose("test-sensors")
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(files["flights"]), "")))
    with qtbot.waitSignal(page.panel.run_failed, timeout=TIMEOUT_MS) as failed:
        page.nowtest_button.click()
    assert shown_errors == [failed.args[0]]
    assert "the column(s) 's00', 's01'" in page.panel.message.text()  # test-sensors' inputs
    two.grab().save(str(shots / "several-monitor-sensors.png"))


def test_monitor_all_models_says_what_each_model_lacks(two, files, qtbot, shown_errors,
                                                       monkeypatch):
    page = two.monitor
    assert page.picker.by_file_chosen()
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(files["neither"]), "")))
    with qtbot.waitSignal(page.panel.run_failed, timeout=TIMEOUT_MS):
        page.nowtest_button.click()
    (error,) = shown_errors
    assert error.code == "E_NO_MODEL_FITS"
    assert f"{DEMO_LABEL} lacks" in error.message and f"{SENSORS} lacks" in error.message


def test_use_the_demo_data_now_tests_the_demo_month_with_the_demo_model(
        two, files, qtbot, monkeypatch):
    import engine.ground.shipped as shipped

    page = two.monitor
    page.picker.choose("test-sensors")
    monkeypatch.setattr(shipped, "demo_month", lambda: files["flights"])
    with qtbot.waitSignal(page.nowtest_finished, timeout=TIMEOUT_MS) as done:
        page.demo_button.click()
    result = done.args[0].result
    assert result.model == DEMO_LABEL and Path(result.input) == files["flights"]
    assert result.labelled == result.rows > 0
    assert page.picker.model_id() == DEMO_ID  # the page now shows the demo model's
    assert f"with {DEMO_LABEL}" in page.panel.message.text()


def test_use_the_demo_data_with_the_shipped_demo_month(two, qtbot, shots):
    page = two.monitor
    two.show_page("monitor")
    assert demo_month().is_file()
    with qtbot.waitSignal(page.nowtest_finished, timeout=TIMEOUT_MS) as done:
        page.demo_button.click()
    result = done.args[0].result
    assert result.model == DEMO_LABEL and Path(result.input) == demo_month()
    assert result.labelled > 0
    qtbot.waitUntil(lambda: page.nowtests.rowCount() == 1, timeout=TIMEOUT_MS)
    two.grab().save(str(shots / "several-monitor-demo.png"))


# -- the other pages --------------------------------------------------------------------------
def test_overview_lists_every_model_with_two_and_three_installed(ctx, qtbot, open_window):
    kit.add_sensors(ctx.workspace)
    window = open_window()
    page = window.overview
    qtbot.waitUntil(lambda: page.table.rowCount() == 2, timeout=TIMEOUT_MS)
    assert [page.table.item(r, 0).text() for r in range(2)] == [DEMO_ID, "test-sensors"]
    kit.add_small(ctx.workspace)
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT_MS):
        page.refresh()
    assert [page.table.item(r, 0).text() for r in range(3)] == [DEMO_ID, "test-sensors",
                                                                 "test-small"]
    assert [page.table.item(r, 1).text() for r in range(3)] == [DEMO_LABEL.split("@")[1],
                                                                 "1", "1"]
    assert page.answer.text().startswith("3 of 3 models have something to do")


def test_regression_and_requirements_show_the_chosen_models_figures(three, qtbot):
    regression, requirements = three.regression, three.requirements
    assert regression.picker.models() == [DEMO_ID, "test-sensors", "test-small"]
    assert regression.picker.label() == DEMO_LABEL  # the first by id, not the newest
    regression.picker.choose("test-sensors")
    with qtbot.waitSignal(regression.run_finished, timeout=TIMEOUT_MS) as finished:
        regression.run()
    result = finished.args[0].result
    assert result.model == SENSORS and [c.passed for c in result.cases] == [True] * 5
    assert regression.runs.rowCount() == 1  # that model's history: its one run
    regression.picker.choose(DEMO_ID)
    qtbot.waitUntil(lambda: regression.runs.rowCount() == 0, timeout=TIMEOUT_MS)

    qtbot.waitUntil(lambda: not requirements.panel.running, timeout=TIMEOUT_MS)
    assert requirements.view.label == DEMO_LABEL
    with qtbot.waitSignal(requirements.loaded, timeout=TIMEOUT_MS) as loaded:
        requirements.picker.choose("test-small")
    assert loaded.args[0].label == SMALL
    assert "roc_auc" in requirements.requirements.item(0, 0).text()  # test-small's minimum


def test_back_test_trial_and_settings_offer_every_model(three, ctx, qtbot):
    setup = three.backtest.setup
    assert setup.picker.models() == [DEMO_ID, "test-sensors", "test-small"]
    setup.picker.choose("test-small")
    assert setup.picker.label() == SMALL

    with Registry.open(ctx.workspace) as registry:  # a sensor candidate, installed inactive
        registry.import_bundle(kit.bundle("test-sensors", kit.SENSORS, seed=3, version=2),
                               activate=False, now=NOW)
    with qtbot.waitSignal(three.trial.loaded, timeout=TIMEOUT_MS) as loaded:
        three.show_page("trial")
    assert loaded.args[0].candidates == ["test-sensors@2"]

    with qtbot.waitSignal(three.models.snapshot_loaded, timeout=TIMEOUT_MS):
        three.models.refresh()
    assert three.model_status.text() == f"Models: {DEMO_LABEL} · {SENSORS} · {SMALL}"
    three.show_page("settings")
    assert three.current_page() == "settings" and three.settings_page.isVisible()


@pytest.mark.parametrize(("health", "expected"), [
    (["attention"], "1 of 1 model has something to do"),
    (["ok", "attention"], "1 of 2 models has something to do"),
    (["attention", "attention", "ok"], "2 of 3 models have something to do"),
    (["problem"], "1 of 1 model needs action now"),
    (["problem", "problem", "ok"], "2 of 3 models need action now"),
])
def test_the_overview_headline_counts_in_good_grammar(health, expected):
    from gui.pages.overview import headline
    from gui.tasks import overview as tasks

    def status(i: int, state: str) -> tasks.ModelStatus:
        return tasks.ModelStatus(f"m{i}", 1, 1, "", "", None, 1, True, None, None, None, 0,
                                 tasks.Health(state), None, None)

    text, _ = headline(tasks.Overview([status(i, h) for i, h in enumerate(health)]))
    assert text.startswith(expected + ";")
