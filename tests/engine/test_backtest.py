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
from engine.model import load_coefficients
from engine.regression.requirements import parse_requirements
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
