"""Data-quality rules (quality_rules.json) checked by every now-test, on the real demo month
(resources/samples/demo-flights-2013-08.csv) made into a bad feed: a column emptied from a
given row on and an out-of-range burst in dep_delay on given rows. The failing rows are named
exactly (1-based data rows); an `alarm` rule raises an alarm, a `warn` rule is reported only;
the result, its report, its stored record and `ratchet nowtest --json` carry the rule results;
a bundle with rules is built, signed, verified and installed; bad rule files are refused with
the field named."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from engine.bundle.ziparchive import read_members
from engine.errors import EngineError
from engine.formats.quality_rules import check_quality_rules, parse_quality_rules
from engine.formats.requirements import parse_requirements
from engine.ground.shipped import shipped_dir
from engine.model import load_coefficients
from engine.nowtest.report import render
from engine.nowtest.result import NowtestResult
from engine.nowtest.run import run_nowtest
from tests.engine.workspace_kit import DEMO_BUNDLE, DEMO_LABEL

MONTH = shipped_dir("resources") / "samples" / "demo-flights-2013-08.csv"
EMPTIED_FROM = 2501  # sched_arr_time is empty from this data row on (500 of 3,000 rows)
BURST = [101, 102, 103, 104, 2900]  # dep_delay 5000 on these data rows


def rules_doc(missing="alarm", burst="warn", least=100) -> dict:
    return {"format": "ratchet-quality-rules/1", "rules": [
        {"rule": "min_rows", "min": least, "severity": "warn"},
        {"rule": "max_missing", "column": "sched_arr_time", "max": 0.05, "severity": missing},
        {"rule": "range", "column": "dep_delay", "min": -60, "max": 1500, "severity": burst},
        {"rule": "categories", "column": "origin", "allowed": ["EWR", "JFK", "LGA"],
         "severity": "alarm"}]}


@pytest.fixture(scope="module")
def demo():
    members = read_members(DEMO_BUNDLE.read_bytes())
    return (load_coefficients(members["coefficients.json"]), members,
            parse_requirements(members["requirements.json"]))


@pytest.fixture(scope="module")
def bad_feed(tmp_path_factory):
    df = pd.read_csv(MONTH, dtype=str, keep_default_na=False)
    assert len(df) == 3000
    # The month itself is clean in these columns, so every failing row below is one we made.
    assert (df["sched_arr_time"] != "").all()
    assert pd.to_numeric(df["dep_delay"], errors="coerce").dropna().between(-60, 1500).all()
    df.loc[EMPTIED_FROM - 1:, "sched_arr_time"] = ""  # data row N is index N - 1
    df.loc[[r - 1 for r in BURST], "dep_delay"] = "5000"
    path = tmp_path_factory.mktemp("quality") / "flights-2013-08-bad.csv"
    df.to_csv(path, index=False)
    return path


def now(demo, path, rules: dict | None):
    model, members, reqs = demo
    if rules is not None:
        members = {**members, "quality_rules.json": json.dumps(rules).encode()}
    return run_nowtest(path, model, DEMO_LABEL, members, reqs)


def by_name(result: NowtestResult) -> dict[str, dict]:
    return {q["name"]: q for q in result.quality}


def test_the_failing_rows_are_named_exactly(demo, bad_feed):
    result = now(demo, bad_feed, rules_doc())
    q = by_name(result)
    assert list(q) == ["min_rows", "max_missing(sched_arr_time)", "range(dep_delay)",
                       "categories(origin)"]
    missing = q["max_missing(sched_arr_time)"]
    assert not missing["passed"] and missing["severity"] == "alarm"
    assert (missing["failing"], missing["checked"]) == (500, 3000)
    assert missing["measured"] == pytest.approx(500 / 3000)
    assert missing["first_rows"] == [[r, ""] for r in range(2501, 2511)]
    burst = q["range(dep_delay)"]
    assert not burst["passed"] and burst["failing"] == 5
    assert burst["first_rows"] == [[r, "5000"] for r in BURST]
    assert "101 ('5000'), 102 ('5000'), 103 ('5000'), 104 ('5000'), 2900 ('5000')" \
        in burst["message"]
    assert "range(dep_delay) (warn)" in burst["message"]
    assert q["min_rows"]["passed"] and q["min_rows"]["measured"] == 3000
    assert q["categories(origin)"]["passed"] and q["categories(origin)"]["first_rows"] == []
    # the alarm rule raises an alarm, the warn rule is reported only
    quality = [r for r in result.reasons if r.kind == "quality"]
    assert [r.subject for r in quality] == ["max_missing(sched_arr_time)"]
    assert "2501, 2502, 2503" in quality[0].message and "16.7%" in quality[0].message
    assert quality[0].bound == 0.05


def test_severity_decides_between_alarm_and_report(demo, bad_feed):
    result = now(demo, bad_feed, rules_doc(missing="warn", burst="alarm", least=5000))
    quality = [r for r in result.reasons if r.kind == "quality"]
    assert [r.subject for r in quality] == ["range(dep_delay)"]
    q = by_name(result)
    assert not q["max_missing(sched_arr_time)"]["passed"]
    assert not q["min_rows"]["passed"] and q["min_rows"]["first_rows"] == []
    assert "3,000 data rows" in q["min_rows"]["message"]


def test_the_clean_month_passes_and_no_rules_means_no_results(demo):
    clean = now(demo, MONTH, rules_doc())
    assert all(q["passed"] for q in clean.quality) and len(clean.quality) == 4
    assert not [r for r in clean.reasons if r.kind == "quality"]
    without = now(demo, MONTH, None)
    assert without.quality == [] and without.to_json()["quality"] == []
    assert [r.kind for r in without.reasons] == [r.kind for r in clean.reasons]


def test_a_written_missing_marker_and_unknown_categories_are_shown(demo, tmp_path):
    df = pd.read_csv(MONTH, dtype=str, keep_default_na=False)
    df.loc[[9, 19], "sched_arr_time"] = "NA"
    df.loc[[4, 2999], "origin"] = "SFO"
    path = tmp_path / "marked.csv"
    df.to_csv(path, index=False)
    doc = rules_doc()
    doc["rules"][1]["max"] = 0.0
    q = by_name(now(demo, path, doc))
    assert q["max_missing(sched_arr_time)"]["first_rows"] == [[10, "NA"], [20, "NA"]]
    assert q["categories(origin)"]["first_rows"] == [[5, "SFO"], [3000, "SFO"]]


def test_the_document_and_the_report_carry_the_rule_results(demo, bad_feed):
    result = now(demo, bad_feed, rules_doc())
    again = NowtestResult.from_json(json.loads(json.dumps(result.to_json())))
    assert again.quality == result.quality
    page = render(result)
    assert "Data-quality rules" in page
    assert "max_missing(sched_arr_time)" in page and "2501, 2502" in page
    assert "16.7% (500 of 3,000)" in page and "warning" in page


@pytest.mark.parametrize(("doc", "words"), [
    ({"format": "ratchet-quality-rules/2", "rules": []}, "format must be"),
    ({"format": "ratchet-quality-rules/1"}, "rules must be a list"),
    ({"format": "ratchet-quality-rules/1", "rules": [], "extra": 1}, "extra"),
    ({"format": "ratchet-quality-rules/1", "rules": [{"rule": "maximum"}]},
     "rules[0].rule must be one of"),
    ({"format": "ratchet-quality-rules/1", "rules": [
        {"rule": "max_missing", "column": "x", "max": 0.1, "severity": "fatal"}]},
     "rules[0] (max_missing).severity must be 'warn' or 'alarm'"),
    ({"format": "ratchet-quality-rules/1", "rules": [
        {"rule": "max_missing", "column": "x", "max": 5, "severity": "warn"}]},
     "rules[0] (max_missing).max is a share"),
    ({"format": "ratchet-quality-rules/1", "rules": [
        {"rule": "range", "column": "x", "min": 3, "max": 1, "severity": "warn"}]},
     "rules[0] (range).min (3) is above its max (1)"),
    ({"format": "ratchet-quality-rules/1", "rules": [
        {"rule": "range", "column": "x", "severity": "warn"}]}, "needs a min, a max or both"),
    ({"format": "ratchet-quality-rules/1", "rules": [
        {"rule": "min_rows", "min": 0, "severity": "warn"}]}, "rules[0] (min_rows).min"),
    ({"format": "ratchet-quality-rules/1", "rules": [
        {"rule": "categories", "column": "x", "allowed": [], "severity": "warn"}]},
     "rules[0] (categories).allowed"),
    ({"format": "ratchet-quality-rules/1", "rules": [
        {"rule": "range", "column": "x", "max": 1, "sevrity": "warn", "severity": "warn"}]},
     "sevrity"),
    ({"format": "ratchet-quality-rules/1", "rules": [
        {"rule": "range", "column": "x", "max": 1, "severity": "warn"},
        {"rule": "range", "column": "x", "max": 2, "severity": "alarm"}]},
     "range(x) is given twice"),
])
def test_invalid_rule_files_name_the_field(doc, words):
    with pytest.raises(EngineError) as caught:
        parse_quality_rules(json.dumps(doc).encode())
    assert caught.value.code == "E_QUALITY_RULES_INVALID"
    assert words in caught.value.message and "quality_rules.json" in caught.value.message


@pytest.mark.parametrize(("rule", "words"), [
    ({"rule": "max_missing", "column": "wind", "max": 0.1}, "'wind' is not an input"),
    ({"rule": "range", "column": "carrier", "max": 1}, "'carrier' is a category column"),
    ({"rule": "categories", "column": "distance", "allowed": ["1"]},
     "'distance' is a number column"),
])
def test_rules_must_fit_the_model(demo, rule, words):
    doc = {"format": "ratchet-quality-rules/1", "rules": [{**rule, "severity": "warn"}]}
    with pytest.raises(EngineError) as caught:
        check_quality_rules(json.dumps(doc).encode(), demo[0].features)
    assert caught.value.code == "E_QUALITY_RULES_INVALID" and words in caught.value.message
