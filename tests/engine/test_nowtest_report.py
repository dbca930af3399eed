"""The now-test HTML report: self-contained (inline SVG, nothing fetched), with the verdict and
its reasons, metrics against requirements, the estimate, drift per feature and out-of-range
shares; text from the data is escaped."""

from __future__ import annotations

import re

from engine.nowtest.report import render
from engine.nowtest.result import AlarmReason, FeatureDrift, NowtestResult


def result(**changes) -> NowtestResult:
    values = dict(
        model="m@1", input="/data/<new>.csv", input_sha256="ab" * 32, rows=2000, labelled=1900,
        rejected=3, metrics={"roc_auc": 0.884, "accuracy": 0.9},
        requirements=[{"metric": "roc_auc", "value": 0.884, "bound": 0.92, "bound_name": "min",
                       "passed": False, "rows": 1900}],
        drift=[FeatureDrift("month", "wasserstein", 2.6, None, 0.1, True, 3000, 2000),
               FeatureDrift("carrier", "chi2", 8.1, 0.68, 0.0005, False, 3000, 2000),
               FeatureDrift("dep_time", "ks", 0.02, 1e-320, 0.0005, True, 3000, 2000, 0.0,
                            0.02, True)],
        prediction_drift=FeatureDrift("prediction", "wasserstein", 0.2, None, 0.1, True, 3000,
                                      2000),
        out_of_range={"month": 1.0, "carrier": 0.01},
        estimate={"roc_auc": 0.93, "accuracy": 0.89},
        reasons=[AlarmReason("metric", "roc_auc", 0.884, 0.92,
                             "m@1: roc_auc 0.884 is below the minimum 0.92 on 1,900 labelled "
                             "rows of <new>.csv.")],
        notes=["A note & more."], estimate_reference={"roc_auc": {"estimated": 0.92,
                                                                 "actual": 0.95}},
        calibrated=True, reference_metrics={"roc_auc": 0.95, "accuracy": 0.91})
    values.update(changes)
    return NowtestResult(**values)


def test_report_shows_every_part_and_fetches_nothing():
    page = render(result(), "Now-test of <new>.csv")
    assert page.startswith("<!doctype html>") and "ALARM" in page
    assert "&lt;new&gt;.csv" in page and "<new>" not in page
    assert "A note &amp; more." in page
    for text in ("Why the alarm", "roc_auc 0.884 is below the minimum 0.92", "min 0.92",
                 "missed", "Drift against the reference sample", "month", "carrier",
                 "dep_time", "prediction", "Wasserstein / sd", "chi-square", "100.00%",
                 "over the limit", "isotonic map", "0.930"):
        assert text in page, text
    assert page.count("<svg") == 1 + 4 + 2  # a requirement, 3 features + prediction, 2 shares
    assert not re.search(r"(src|href)=|<script|https?://", page)


def test_report_without_labels_or_reference():
    page = render(result(metrics=None, requirements=[], labelled=0, drift=[],
                         prediction_drift=None, reasons=[], estimate=None,
                         estimate_reference=None, reference_metrics=None, calibrated=False,
                         out_of_range={}), "Now-test")
    assert "NO ALARM" in page and "Not checked: the file has no labels." in page
    assert "Not measured (no reference rows)." in page and "Why the alarm" not in page
