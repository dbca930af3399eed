"""Now-test segments on real flights (resources/samples/demo-flights-2013-08.csv: 3,000 flights
of August 2013), one carrier's departures made late by an hour: the metrics per carrier against
scikit-learn on the model's own predictions, the drifted segments against scipy's tests on the
reference rows of the same carrier, the "other" bucket, `applies: "segment"` raising an alarm
that names the segment, and the command line (JSON, report, a bad --segment refused)."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import metrics as skm

from engine.bundle.ziparchive import read_members
from engine.formats.cases import inputs_of
from engine.formats.segments import OTHER
from engine.ground.shipped import shipped_dir
from engine.model import load_coefficients
from engine.nowtest.run import FAMILY_ALPHA
from engine.nowtest.segments import MIN_REFERENCE_ROWS
from engine.registry.registry import Registry
from engine.services.segments import nowtest_segmented
from tests.engine.conftest import json_cli
from tests.engine.workspace_kit import DEMO_BUNDLE

AUGUST = shipped_dir("resources") / "samples" / "demo-flights-2013-08.csv"
LATE_CARRIER = "MQ"  # 206 flights of the sample


@pytest.fixture(scope="module")
def demo():
    members = read_members(DEMO_BUNDLE.read_bytes())
    return load_coefficients(members["coefficients.json"]), members


@pytest.fixture(scope="module")
def feed(tmp_path_factory) -> tuple:
    """August with every MQ departure an hour later (its delay too); nothing else changed."""
    df = pd.read_csv(AUGUST, dtype=str, keep_default_na=False)
    mq = df["carrier"] == LATE_CARRIER
    df.loc[mq, "dep_delay"] = (df.loc[mq, "dep_delay"].astype(int) + 60).astype(str)
    path = tmp_path_factory.mktemp("segments") / "august.csv"
    df.to_csv(path, index=False)
    return path, df


def scored(model, df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    result = model.predict(df[model.feature_names])
    assert not result.rejected.any()
    out["p"], out["y"] = result.proba[:, 1], df["late"].astype(int)
    return out


def chi2_p(ref: pd.Series, cur: pd.Series) -> float:
    """The chi-square test of the now-test: rare cells (expected < 5 in the smaller sample)
    merged into one."""
    names = sorted(set(ref) | set(cur))
    table = np.array([[(ref == c).sum() for c in names], [(cur == c).sum() for c in names]],
                     dtype=float)
    expected = table.sum(axis=0) / table.sum() * table.sum(axis=1).min()
    rare = expected < 5
    if 1 < rare.sum() < len(rare):
        table = np.column_stack([table[:, ~rare], table[:, rare].sum(axis=1)])
    return float(stats.chi2_contingency(table).pvalue)


def expected_drift(model, members, df: pd.DataFrame, column: str) -> set[tuple[str, str]]:
    """(segment, input) pairs scipy finds drifted, at the now-test's Bonferroni level."""
    cases = pd.read_csv(io.BytesIO(members["regression_cases.csv"]), dtype=str,
                        keep_default_na=False)
    ref = cases[cases["kind"] == "reference"]
    ref = ref[~model.predict(inputs_of(ref, model)).rejected]
    counts = ref[column].value_counts()
    tested = [v for v in df[column].unique() if counts.get(v, 0) >= MIN_REFERENCE_ROWS]
    features = [f for f in model.features if f.name != column]
    alpha = FAMILY_ALPHA / ((len(features) + sum(f.type == "number" for f in features))
                            * len(tested))
    found = set()
    for value in tested:
        r, c = ref[ref[column] == value], df[df[column] == value]
        for f in features:
            p = (stats.ks_2samp(r[f.name].astype(float), c[f.name].astype(float)).pvalue
                 if f.type == "number" else chi2_p(r[f.name], c[f.name]))
            if p < alpha:
                found.add((value, f.name))
    return found


@pytest.fixture
def registry(ws):
    reg = Registry.open(ws.root)
    yield reg
    reg.close()


def test_metrics_and_drift_per_carrier(registry, demo, feed):
    model, members = demo
    path, df = feed
    result = nowtest_segmented(registry, path, None, ["carrier"])
    (table,) = result.segments
    flights = scored(model, df)
    for s in table.segments:
        g = flights[flights["carrier"] == s.value]
        assert s.rows == len(g) == s.scored
        if g["y"].nunique() == 2:
            assert s.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(g["y"], g["p"]),
                                                         abs=1e-12)
        assert s.metrics["brier"] == pytest.approx(
            skm.brier_score_loss(g["y"], g["p"]), abs=1e-12)
    drifted = {(s.value, f) for s in table.segments for f in s.drifted}
    assert drifted == expected_drift(model, members, df, "carrier")
    assert (LATE_CARRIER, "dep_delay") in drifted  # the hour late, found in its segment
    assert {v for v, _ in drifted} == {LATE_CARRIER}
    flagged = [s for s in table.segments if s.flagged]
    assert table.segments[:len(flagged)] == flagged  # ranked worst first
    missed = {s.value for s in table.segments if s.missed}
    auc = {v: skm.roc_auc_score(g["y"], g["p"]) for v, g in flights.groupby("carrier")
           if g["y"].nunique() == 2}
    assert missed == {v for v, a in auc.items() if a < 0.9}
    assert not table.held  # the demo's requirements hold no segment: no alarm from these
    assert not any(" in carrier " in r.subject for r in result.reasons)


def test_other_bucket_by_destination(registry, demo, feed):
    path, df = feed
    (table,) = nowtest_segmented(registry, path, None, ["dest"]).segments
    counts = df["dest"].value_counts()
    ranked = sorted(counts.index, key=lambda v: (-counts[v], v))
    assert [s.value for s in table.segments if s.value != OTHER] != []
    assert {s.value for s in table.segments} == {*ranked[:20], OTHER}
    other = next(s for s in table.segments if s.value == OTHER)
    assert other.values == len(ranked) - 20 and other.rows == int(counts[ranked[20:]].sum())


def test_a_segment_requirement_raises_an_alarm_naming_the_segment(registry, demo, feed,
                                                                   monkeypatch):
    model, members = demo
    path, df = feed
    flights = scored(model, df)
    auc = {v: skm.roc_auc_score(g["y"], g["p"]) for v, g in flights.groupby("origin")}
    bound = sorted(auc.values())[1]  # the worst origin misses it
    doc = json.loads(members["requirements.json"])
    doc["metrics"] = [{"metric": "roc_auc", "min": 0.5, "applies": "overall"},
                      {"metric": "roc_auc", "min": bound, "applies": "segment",
                       "segment": "origin"}]
    changed = {**members, "requirements.json": json.dumps(doc).encode()}
    monkeypatch.setattr(registry, "bundle_members", lambda label: changed)
    result = nowtest_segmented(registry, path)  # no --segment: the requirement asks
    (table,) = result.segments
    worst = min(auc, key=auc.get)
    assert table.column == "origin" and table.held
    assert [s.value for s in table.segments if s.missed] == [worst]
    (reason,) = [r for r in result.reasons if r.kind == "metric"]
    assert reason.subject == f"roc_auc in origin {worst}"
    assert reason.value == pytest.approx(auc[worst], abs=1e-12) and reason.bound == bound
    assert f"segment origin = {worst}" in reason.message
    assert result.requirements == [{"metric": "roc_auc", "value": pytest.approx(
        skm.roc_auc_score(flights["y"], flights["p"]), abs=1e-12), "bound": 0.5,
        "bound_name": "min", "passed": True, "rows": len(df)}]  # the file as a whole: fine


def test_cli_json_and_report(demo_root, capsys, tmp_path, feed):
    path, _ = feed
    run = json_cli(demo_root, capsys, "nowtest")
    report = tmp_path / "nt.html"
    code, doc, _ = run(str(path), "--segment", "carrier", "--report", str(report))
    assert code == 1  # the file misses roc_auc as a whole
    (table,) = doc["segments"]
    assert table["column"] == "carrier"
    mq = next(s for s in table["segments"] if s["value"] == LATE_CARRIER)
    assert "dep_delay" in mq["drifted"] and mq["intervals"]["roc_auc"][0] is not None
    page = report.read_text()
    assert "<h2>Segments by carrier</h2>" in page
    assert "drifted: dep_delay" in page
    assert page.count('aria-label="roc_auc of ') == len(table["segments"])


@pytest.mark.parametrize("column, why", [("late", "is not an input of"),
                                         ("dep_delay", "is a number input of")])
def test_a_bad_segment_column_is_refused(demo_root, capsys, feed, column, why):
    path, _ = feed
    run = json_cli(demo_root, capsys, "nowtest")
    code, doc, _ = run(str(path), "--segment", column)
    assert code == 2
    assert doc["error"] == "E_SEGMENT_COLUMN"
    assert f"--segment {column!r}: {column!r} {why}" in doc["message"]
