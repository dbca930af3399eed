"""The Monitor page's data-quality panel with a real now-test: the demo month made into a bad
feed (sched_arr_time emptied from data row 2501 on, dep_delay 5000 on rows 101-104 and 2900),
now-tested by the real engine against rules given beside the demo bundle's members, recorded
with its alarms by the service's own transaction; the page shows the rules of the chosen
now-test (the failed alarm rule first, its first failing rows), the quality alarm's share, and
hides the panel for a now-test whose model has no rules."""

import json

import pandas as pd
import pytest
from PySide6.QtCore import Qt

from engine.bundle.ziparchive import read_members
from engine.formats.requirements import parse_requirements
from engine.ground.shipped import shipped_dir
from engine.model import load_coefficients
from engine.nowtest.run import run_nowtest
from engine.registry.registry import Registry
from engine.services.nowtest import record_and_raise
from gui.pages.monitor import MonitorPage
from gui.pages.monitor_quality import QUALITY_COLUMNS
from gui.pages.monitor_tables import ALARM_COLUMNS
from tests.engine.workspace_kit import DEMO_BUNDLE, DEMO_LABEL
from tests.gui.kit import TIMEOUT_MS

MONTH = shipped_dir("resources") / "samples" / "demo-flights-2013-08.csv"
RULES = {"format": "ratchet-quality-rules/1", "rules": [
    {"rule": "min_rows", "min": 100, "severity": "warn"},
    {"rule": "range", "column": "dep_delay", "min": -60, "max": 1500, "severity": "warn"},
    {"rule": "max_missing", "column": "sched_arr_time", "max": 0.05, "severity": "alarm"}]}


def _now_test(path, rules) -> object:
    members = read_members(DEMO_BUNDLE.read_bytes())
    model = load_coefficients(members["coefficients.json"])
    reqs = parse_requirements(members["requirements.json"])
    if rules is not None:
        members = {**members, "quality_rules.json": json.dumps(rules).encode()}
    return run_nowtest(path, model, DEMO_LABEL, members, reqs)


@pytest.fixture
def recorded(workspace, tmp_path):
    """(id of the clean month's now-test without rules, id of the bad feed's with rules)."""
    df = pd.read_csv(MONTH, dtype=str, keep_default_na=False)
    df.loc[2500:, "sched_arr_time"] = ""
    df.loc[[100, 101, 102, 103, 2899], "dep_delay"] = "5000"
    bad = tmp_path / "flights-2013-08-bad.csv"
    df.to_csv(bad, index=False)
    with Registry.open(workspace) as registry:
        clean_id, _ = record_and_raise(registry.db, _now_test(MONTH, None), "app")
        bad_id, _ = record_and_raise(registry.db, _now_test(bad, RULES), "app")
    return clean_id, bad_id


def choose(page, nowtest_id: int) -> None:
    """Click the now-test's row in the list."""
    table = page.nowtests
    row = next(r for r in range(table.rowCount())
               if table.item(r, 0).data(Qt.ItemDataRole.UserRole) == nowtest_id)
    table.selectRow(row)


def column(table, name: str) -> list[str]:
    c = QUALITY_COLUMNS.index(name)
    return [table.item(r, c).text() for r in range(table.rowCount())]


def test_the_chosen_now_tests_rule_failures_are_shown(ctx, qtbot, recorded):
    clean_id, bad_id = recorded
    page = MonitorPage(ctx)
    qtbot.addWidget(page)
    page.resize(1100, 800)
    page.show()
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT_MS):
        page.refresh()
    choose(page, bad_id)
    panel = page.quality
    assert panel.isVisible()
    assert panel.title.text() == ("Data-quality rules in flights-2013-08-bad.csv: 2 of 3 "
                                  "failed")
    table = panel.table
    assert column(table, "Rule") == ["max_missing", "range", "min_rows"]
    assert column(table, "Column") == ["sched_arr_time", "dep_delay", "(the file)"]
    assert column(table, "Severity") == ["alarm", "warn", "warn"]
    assert column(table, "Verdict") == ["ALARM", "warning", "passed"]
    assert column(table, "Measured") == ["16.7% (500 of 3,000)", "0.2% (5 of 3,000)",
                                         "3,000 rows"]
    assert column(table, "First failing rows") == [
        ", ".join(str(r) for r in range(2501, 2511)),
        "101 ('5000'), 102 ('5000'), 103 ('5000'), 104 ('5000'), 2900 ('5000')", ""]
    assert "data-quality rule max_missing(sched_arr_time) (alarm)" in \
        table.item(0, 0).toolTip()
    # the alarm rule raised an alarm; the alarms table gives its share against the rule's
    alarms = page.alarms
    what = ALARM_COLUMNS.index("What")
    row = next(r for r in range(alarms.rowCount())
               if alarms.item(r, what).text() == "max_missing(sched_arr_time) failed")
    assert alarms.item(row, ALARM_COLUMNS.index("Value")).text() == "16.7%"
    assert alarms.item(row, ALARM_COLUMNS.index("Bound")).text() == "5.0%"
    assert not [r for r in range(alarms.rowCount())
                if alarms.item(r, what).text().startswith("range(")]
    # a now-test whose model has no rules: no panel
    choose(page, clean_id)
    assert not panel.isVisible() and table.rowCount() == 0
