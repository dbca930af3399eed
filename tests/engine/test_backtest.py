"""Back-test engine: partitions by month / quarter, per-partition metrics equal to
scikit-learn's on the same rows, unlabelled rows counted not dropped silently, requirements
judged per partition, and a paired bootstrap comparison that tells a better challenger."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from engine.backtest.run import Contender, partition_keys, run_backtest
from engine.formats.requirements import parse_requirements
from engine.model import load_coefficients
from tests.engine.conftest import roundtrip

REQS = parse_requirements(b'{"format": "ratchet-requirements/1", "metrics": '
                          b'[{"metric": "roc_auc", "min": 0.8}]}')


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 3000
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["x0", "x1", "x2"])
    y = (X["x0"] + 0.8 * X["x1"] + rng.normal(0, 0.7, n) > 0).astype(int)
    good = LogisticRegression().fit(X[:1000], y[:1000])
    weak = LogisticRegression().fit(X[:1000][["x0", "x1", "x2"]] * [1, 0, 0], y[:1000])
    champion_doc = roundtrip(weak, X[:1000], y[:1000], target="late", model_id="m")[1]
    challenger_doc = roundtrip(good, X[:1000], y[:1000], target="late", model_id="m")[1]
    corpus = X[1000:].copy()
    corpus["late"] = y[1000:].astype(str)
    corpus.loc[corpus.index[::50], "late"] = ""  # unlabelled rows
    months = np.array(["2013-07-03T10:00:00Z", "2013-08-15T10:00:00Z", "2013-09-30T23:00:00Z"])
    corpus["when"] = months[np.arange(len(corpus)) % 3]
    path = tmp_path_factory.mktemp("bt") / "corpus.csv"
    corpus.to_csv(path, index=False)
    return path, corpus, (weak, champion_doc), (good, challenger_doc)


def test_partitions_metrics_and_verdict(setup):
    path, corpus, (weak, weak_doc), (good, good_doc) = setup
    champion = Contender("m@1", load_coefficients(json.dumps(weak_doc)), REQS)
    challenger = Contender("m@2", load_coefficients(json.dumps(good_doc)), REQS)
    calls = []
    result = run_backtest(str(path), "when", "month", champion, [challenger],
                          progress=lambda f, m: calls.append(f), bootstrap=100)
    assert result.unlabelled == 40 and result.rows == 2000
    parts = sorted({p.partition for p in result.partitions})
    assert parts == ["2013-07", "2013-08", "2013-09"]
    for p in result.partitions:
        rows = corpus[(corpus["when"].str[:7] == p.partition) & (corpus["late"] != "")]
        fitted = weak if p.model == "m@1" else good
        expected = roc_auc_score(rows["late"].astype(int),
                                 fitted.predict_proba(rows[["x0", "x1", "x2"]])[:, 1])
        assert p.rows == len(rows)
        assert abs(p.metrics["roc_auc"] - expected) <= 1e-12
        assert p.passed == (expected >= 0.8)
    assert result.verdict == {"m@2": "better"}
    assert all(c.ci_low > 0 for c in result.comparisons)
    assert calls[-1] == 1.0
    doc = result.to_json()
    assert {"partition", "model", "rows", "metrics", "passed"} <= set(doc["partitions"][0])


def test_partition_keys():
    times = np.array(["2013-01-31T23:00:00Z", "2013-04-01", "not a time", None], dtype=object)
    assert list(partition_keys(times, "month")) == ["2013-01", "2013-04", "", ""]
    assert list(partition_keys(times, "quarter")) == ["2013-Q1", "2013-Q2", "", ""]
    assert list(partition_keys(times, "year")) == ["2013", "2013", "", ""]


# -- the fast bootstrap: the same numbers as the metric on the resampled rows ----------------

def _draws(rng, n: int, k: int) -> np.ndarray:
    """k resamples of n rows drawn the plain way (indices), as counts per row."""
    idx = rng.integers(0, n, size=(k, n))
    return np.array([np.bincount(i, minlength=n) for i in idx], dtype=np.int32)


EXACT = {"roc_auc", "accuracy", "precision", "recall", "f1", "false_positive_rate"}


def _classifier(n_classes: int):
    rng = np.random.default_rng(n_classes)
    X = pd.DataFrame(rng.normal(size=(300, 2)), columns=["x0", "x1"])
    y = (X["x0"] * 2 + rng.normal(size=300) > 0).astype(int) if n_classes == 2 else \
        np.digitize(X["x0"] + rng.normal(0, 0.5, 300), [-0.5, 0.5])
    return roundtrip(LogisticRegression().fit(X, y), X, y)[0]


@pytest.mark.parametrize("n_classes", [2, 3])
def test_fast_bootstrap_equals_the_metric_on_resampled_rows(n_classes):
    from engine.backtest.evaluate import metrics_for
    from engine.backtest.resample import prepare, resampled_values, weighted_values

    model = _classifier(n_classes)
    rng = np.random.default_rng(11)
    n = 400
    y = rng.integers(0, n_classes, n).astype(np.int16)
    alpha = np.ones(n_classes) + np.eye(n_classes)[y] * 2  # leaning towards the true class
    proba = np.round(rng.gamma(alpha), 1)  # many ties in the scores
    proba = np.round((proba + 0.1) / (proba + 0.1).sum(axis=1, keepdims=True), 2)
    proba[:, -1] = 1 - proba[:, :-1].sum(axis=1)
    prediction = np.argmax(proba, axis=1).astype(np.int16)
    counts = _draws(rng, n, 25)
    for metric in metrics_for(model.task):
        if metric == "false_positive_rate" and n_classes > 2:
            continue
        prep = prepare(metric, model.task, y, prediction, proba)
        fast = weighted_values(prep, counts, y, prediction)
        slow = resampled_values(metric, model, y, prediction, proba, counts)
        if metric in EXACT:
            assert fast.tolist() == slow.tolist(), metric
        else:
            np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=0, err_msg=metric)


def test_fast_bootstrap_equals_the_metric_on_resampled_rows_for_regression():
    from sklearn.linear_model import LinearRegression

    from engine.backtest.evaluate import metrics_for
    from engine.backtest.resample import prepare, resampled_values, weighted_values

    rng = np.random.default_rng(5)
    X = pd.DataFrame(rng.normal(size=(200, 2)), columns=["x0", "x1"])
    model = roundtrip(LinearRegression().fit(X, X["x0"] * 3 + 1), X, X["x0"] * 3 + 1)[0]
    n = 300
    y = rng.normal(10, 3, n)
    prediction = y + rng.normal(0, 1, n)
    counts = _draws(rng, n, 20)
    for metric in metrics_for("regression"):
        prep = prepare(metric, "regression", y, prediction, None)
        fast = weighted_values(prep, counts, y, prediction)
        slow = resampled_values(metric, model, y, prediction, None, counts)
        np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=0, err_msg=metric)


def test_resample_counts_are_uniform_draws_of_n_rows():
    from scipy.stats import chisquare

    from engine.backtest.resample import resample_counts

    for n in (1, 7, 1000):
        counts = resample_counts(np.random.default_rng(3), n, 400)
        assert counts.shape == (400, n) and (counts.sum(axis=1) == n).all()
    counts = resample_counts(np.random.default_rng(4), 1000, 2000)
    per_row = counts.sum(axis=0)  # 2,000,000 draws over 1,000 rows
    assert chisquare(per_row).pvalue > 1e-4
    assert abs(counts.var() - (1 - 1 / 1000)) < 0.01  # Multinomial(n, 1/n): var 1 - 1/n
    again = resample_counts(np.random.default_rng(4), 1000, 2000)
    assert (again == counts).all()  # reproducible from the seed


def test_bad_cells_reject_their_rows_and_outcomes_are_read_as_classes(setup, tmp_path):
    path, corpus, (_, weak_doc), _ = setup
    frame = corpus.copy()
    frame["x1"] = frame["x1"].map(repr)
    frame.loc[frame.index[3], "x1"] = "abc"  # not a number: that row is rejected
    frame["late"] = frame["late"].replace({"1": "1.0"})  # the same class written as a float
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    champion = Contender("m@1", load_coefficients(json.dumps(weak_doc)), REQS)
    clean = run_backtest(str(path), "when", "month", champion)
    result = run_backtest(str(bad), "when", "month", champion)
    first = result.partitions[0]
    assert first.rejected == 1 and first.rows == clean.partitions[0].rows - 1
    assert [p.rows for p in result.partitions[1:]] == [p.rows for p in clean.partitions[1:]]
    assert result.partitions[1].metrics == clean.partitions[1].metrics


def test_progress_per_partition_and_cancel_between_partitions(setup):
    from engine.errors import Cancelled
    from engine.progress import CancelToken

    path, _, (_, weak_doc), (_, good_doc) = setup
    champion = Contender("m@1", load_coefficients(json.dumps(weak_doc)), REQS)
    challenger = Contender("m@2", load_coefficients(json.dumps(good_doc)), REQS)
    seen = []
    run_backtest(str(path), "when", "month", champion, [challenger],
                 progress=lambda f, m: seen.append((f, m)), bootstrap=20)
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    done = sorted(m.split(" done")[0] for _, m in seen if " done (" in m)
    assert done == ["2013-07", "2013-08", "2013-09", "overall"]

    token = CancelToken()

    def cancel_after_first_partition(fraction: float, message: str) -> None:
        if " done (" in message:
            token.cancel()
    with pytest.raises(Cancelled):
        run_backtest(str(path), "when", "month", champion, [challenger],
                     progress=cancel_after_first_partition, cancel=token, n_jobs=1)


@pytest.mark.parametrize("kind", ["multiclass", "regression"])
def test_multiclass_and_regression_models_are_back_tested_like_scikit_learn(kind, tmp_path):
    from sklearn.linear_model import LinearRegression, Ridge
    from sklearn.metrics import mean_squared_error, roc_auc_score

    rng = np.random.default_rng(9)
    n = 1800
    X = pd.DataFrame(rng.normal(size=(n, 2)), columns=["x0", "x1"])
    if kind == "regression":
        y = X["x0"] * 2 - X["x1"] + rng.normal(0, 0.5, n)
        a, b = LinearRegression().fit(X[:600], y[:600]), Ridge(alpha=300).fit(X[:600], y[:600])
    else:
        y = np.digitize(X["x0"] + rng.normal(0, 0.6, n), [-0.5, 0.5])
        a = LogisticRegression(C=0.01).fit(X[:600], y[:600])
        b = LogisticRegression().fit(X[:600], y[:600])
    corpus = X[600:].copy()
    corpus["y"] = y[600:]
    corpus["when"] = np.where(np.arange(len(corpus)) % 2, "2020-01-15", "2020-05-15")
    path = tmp_path / "c.csv"
    corpus.to_csv(path, index=False)
    contenders = [Contender(label, roundtrip(m, X[:600], y[:600], target="y")[0], [])
                  for label, m in (("m@1", a), ("m@2", b))]
    result = run_backtest(str(path), "when", "quarter", contenders[0], contenders[1:],
                          bootstrap=50)
    metric = "rmse" if kind == "regression" else "roc_auc"
    assert result.metric == metric
    for p in result.partitions:
        rows = corpus[corpus["when"].str[5:7] == ("01" if p.partition == "2020-Q1" else "05")]
        fitted = a if p.model == "m@1" else b
        if kind == "regression":
            expected = mean_squared_error(rows["y"], fitted.predict(rows[["x0", "x1"]])) ** 0.5
        else:
            expected = roc_auc_score(rows["y"], fitted.predict_proba(rows[["x0", "x1"]]),
                                     multi_class="ovr")
        assert p.metrics[metric] == pytest.approx(expected, rel=1e-12)
    assert {c.partition for c in result.comparisons} == {"2020-Q1", "2020-Q2", "overall"}
    assert result.verdict["m@2"] in ("better", "worse")


def test_overall_weights_partitions_by_rows_so_a_tiny_one_cannot_flip_the_verdict(tmp_path):
    """Two months of 1200 rows where the challenger (blind to x1) is clearly worse, and a month
    of 20 rows where it happens to look better: the overall difference is the row-weighted mean
    of the per-month differences (an unweighted mean, +0.0003 [-0.07, +0.09], let the 20 rows
    turn "worse" into "no clear difference")."""
    rng = np.random.default_rng(3)
    n = 2400
    X = pd.DataFrame(rng.normal(size=(n + 1000, 2)), columns=["x0", "x1"])
    y = (X["x0"] + X["x1"] + rng.normal(0, 0.8, len(X)) > 0).astype(int)
    sees_both = LogisticRegression().fit(X[:1000], y[:1000])
    sees_x0 = LogisticRegression().fit(X[:1000] * [1, 0], y[:1000])
    big = X[1000:].copy()
    big["late"] = y[1000:].to_numpy().astype(str)
    big["when"] = np.where(np.arange(n) % 2, "2013-01-15", "2013-02-15")
    tiny = pd.DataFrame(rng.normal(size=(20, 2)), columns=["x0", "x1"])
    tiny["late"] = (tiny["x0"] > 0).astype(int).astype(str)  # x1 says nothing in these rows
    tiny["when"] = "2013-03-01"
    path = tmp_path / "corpus.csv"
    pd.concat([big, tiny], ignore_index=True).to_csv(path, index=False)
    champion, challenger = (Contender(label, roundtrip(m, X[:1000], y[:1000], "late")[0], [])
                            for label, m in (("m@1", sees_both), ("m@2", sees_x0)))
    result = run_backtest(str(path), "when", "month", champion, [challenger], bootstrap=200)
    per = {c.partition: c for c in result.comparisons if c.partition != "overall"}
    overall = next(c for c in result.comparisons if c.partition == "overall")
    assert [per[k].rows for k in sorted(per)] == [1200, 1200, 20]
    assert per["2013-01"].outcome == per["2013-02"].outcome == "worse"
    assert per["2013-03"].difference > 0  # the tiny month points the other way
    rows = np.array([c.rows for c in per.values()])
    for field in ("difference", "champion_value", "challenger_value"):
        expected = np.dot(rows, [getattr(c, field) for c in per.values()]) / rows.sum()
        assert getattr(overall, field) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert overall.rows == 2420
    assert overall.ci_low <= overall.difference <= overall.ci_high < 0
    assert overall.outcome == "worse" and result.verdict == {"m@2": "worse"}
    assert any("on average over 3 months, weighted by rows" in line for line in result.summary)


def test_a_partition_holding_one_class_says_its_metric_cannot_be_measured(tmp_path):
    """roc_auc is undefined on a month whose flights were all on time: not a pass (nothing
    shows the minimum is met), and the reason says why instead of printing "nan"."""
    from engine.formats.requirements import Requirement

    rng = np.random.default_rng(5)
    X = pd.DataFrame(rng.normal(size=(600, 2)), columns=["x0", "x1"])
    y = (X["x0"] > 0).astype(int)
    model = roundtrip(LogisticRegression().fit(X, y), X, y, "late")[0]
    corpus = X.copy()
    corpus["late"] = y.astype(str)
    corpus["when"] = np.where(np.arange(600) < 300, "2013-01-10", "2013-02-10")
    corpus.loc[300:, "late"] = "0"  # February: one class only
    path = tmp_path / "corpus.csv"
    corpus.to_csv(path, index=False)
    champion = Contender("m@1", model, [Requirement("roc_auc", 0.8)])
    result = run_backtest(str(path), "when", "month", champion, bootstrap=10)
    jan, feb = sorted(result.partitions, key=lambda p: p.partition)
    assert jan.passed and jan.failures == []
    assert not feb.passed and feb.failures == [
        "roc_auc cannot be measured here (one class only, or no rows), so min 0.8 is not "
        "shown to be met"]
    assert not any("nan" in line for line in result.summary)


# -- partitions in a time zone -----------------------------------------------------------------

def test_partition_keys_in_a_time_zone_convert_offset_times_and_keep_naive_ones():
    times = np.array(["2014-01-01T02:00:00Z", "2013-12-31T23:00:00Z", "2013-07-01T01:00:00+02:00",
                      "2013-07-01 03:00 z", "2013-03-31 23:30", "2013-04", "not a time", None],
                     dtype=object)
    assert list(partition_keys(times, "month")) == [  # as written: no zone
        "2014-01", "2013-12", "2013-07", "2013-07", "2013-03", "2013-04", "", ""]
    assert list(partition_keys(times, "month", "America/New_York")) == [
        "2013-12", "2013-12", "2013-06", "2013-06", "2013-03", "2013-04", "", ""]
    assert list(partition_keys(times, "month", "UTC")) == [
        "2014-01", "2013-12", "2013-06", "2013-07", "2013-03", "2013-04", "", ""]
    assert list(partition_keys(times, "quarter", "America/New_York"))[:3] == [
        "2013-Q4", "2013-Q4", "2013-Q2"]
    assert list(partition_keys(times[:2], "year", "America/New_York")) == ["2013", "2013"]
    assert list(partition_keys(times[:2], "month", "Asia/Tokyo")) == ["2014-01", "2014-01"]


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "America/New York", "../etc"])
def test_an_unknown_time_zone_is_refused_by_name_with_an_example(zone):
    from engine.errors import InputError

    with pytest.raises(InputError) as caught:
        partition_keys(np.array(["2013-01-01"], dtype=object), "month", zone)
    assert caught.value.code == "E_USAGE"
    assert repr(zone) in caught.value.message and "America/New_York" in caught.value.message


def test_a_corpus_written_in_utc_is_back_tested_in_local_months(setup, tmp_path):
    """Every row's time written in UTC (some near midnight at a month's end, some without an
    offset, taken as local): with America/New_York each partition holds the rows of its local
    month, and its metrics are scikit-learn's on exactly those rows."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    _path, corpus, (weak, weak_doc), (good, good_doc) = setup
    corpus = corpus.copy()
    rng = np.random.default_rng(4)
    pool = [dt.datetime(2013, *when, tzinfo=dt.UTC) for when in (
        (6, 30, 22), (7, 1, 2), (7, 15, 12), (8, 1, 1), (8, 20, 12), (9, 10, 12), (10, 1, 3))]
    stamps = [pool[i] for i in rng.integers(0, len(pool), len(corpus))]
    corpus["when"] = [s.strftime("%Y-%m-%dT%H:%M:%SZ") for s in stamps]
    naive = np.arange(len(corpus)) % 7 == 0  # written without an offset: already local
    corpus.loc[naive, "when"] = [s.strftime("%Y-%m-%d %H:%M") for s in np.array(stamps)[naive]]
    ny = ZoneInfo("America/New_York")
    local = [s.strftime("%Y-%m") if n else s.astimezone(ny).strftime("%Y-%m")
             for s, n in zip(stamps, naive, strict=True)]
    path = tmp_path / "utc.csv"
    corpus.to_csv(path, index=False)
    champion = Contender("m@1", load_coefficients(json.dumps(weak_doc)), REQS)
    challenger = Contender("m@2", load_coefficients(json.dumps(good_doc)), REQS)
    result = run_backtest(str(path), "when", "month", champion, [challenger], bootstrap=20,
                          timezone="America/New_York")
    as_written = run_backtest(str(path), "when", "month", champion, bootstrap=0)
    assert as_written.partition_keys == ["2013-06", "2013-07", "2013-08", "2013-09", "2013-10"]
    assert result.partition_keys == sorted(set(local)) == as_written.partition_keys
    moved = sum(w != n for w, n in zip(corpus["when"].str[:7], local, strict=True))
    assert moved > 500  # the evenings of 30 June, 31 July and 30 September in New York
    assert result.timezone == "America/New_York" and as_written.timezone is None
    corpus["local"] = local
    for p in result.partitions:
        rows = corpus[(corpus["local"] == p.partition) & (corpus["late"] != "")]
        fitted = weak if p.model == "m@1" else good
        expected = roc_auc_score(rows["late"].astype(int),
                                 fitted.predict_proba(rows[["x0", "x1", "x2"]])[:, 1])
        assert p.rows == len(rows)
        assert p.metrics["roc_auc"] == pytest.approx(expected, abs=1e-12)
    assert "5 months in America/New_York" in result.summary[0]
    assert "in America/New_York" not in " ".join(as_written.summary)

    from engine.backtest.report import render
    from engine.backtest.result import BacktestResult

    for r in (result, as_written):  # JSON round trip, with and without the zone
        doc = json.loads(json.dumps(r.to_json()))
        assert doc["timezone"] == r.timezone
        assert BacktestResult.from_json(doc).to_json() == r.to_json()
    old = as_written.to_json()
    del old["timezone"]  # stored before the option existed
    assert BacktestResult.from_json(old).timezone is None
    assert "America/New_York" in render(result) and "America/New_York" not in render(as_written)
