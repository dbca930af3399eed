"""The label-free performance estimate (confidence-based, as NannyML's CBPE): on labels drawn
from the model's own probabilities it matches the realized metrics within their sampling
spread; the calibration check on reference rows and the isotonic map (scikit-learn is only the
reference here, never needed to predict)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, logit
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import accuracy_score, brier_score_loss, roc_auc_score

from engine.metrics import compute
from engine.nowtest.estimate import (
    Calibration,
    IsotonicMap,
    estimate_metrics,
    simulated_metrics,
    soft_auc,
)

BINARY = ["accuracy", "precision", "recall", "f1", "false_positive_rate", "roc_auc",
          "log_loss", "brier"]
EXACT = {"accuracy", "precision", "log_loss", "brier"}  # expectations, no ratio of them


def realized(metric: str, y, proba, class_index, k: int) -> float:
    classes = list(range(k))
    if metric in ("roc_auc", "log_loss", "brier"):
        return compute(metric, y, proba=proba, classes=classes)
    return compute(metric, y, y_pred=class_index, classes=classes)


def draw_labels(rng, q: np.ndarray) -> np.ndarray:
    cumulative = np.cumsum(q, axis=1)
    return (rng.random((q.shape[0], 1)) > cumulative[:, :-1]).sum(axis=1)


def check_against_draws(proba, q, class_index, metrics, draws=200, seed=0):
    """The estimate against `draws` realizations of labels drawn from q: the mean realized
    value within 4 standard errors (plus 2e-3 for ratio estimates, biased by O(1/n)) and the
    estimate inside the realized values' central 99%."""
    rng = np.random.default_rng(seed)
    k = proba.shape[1]
    est = estimate_metrics(proba, q, class_index)
    values = {m: [] for m in metrics}
    for _ in range(draws):
        y = draw_labels(rng, q)
        for m in metrics:
            values[m].append(realized(m, y, proba, class_index, k))
    for m in metrics:
        v = np.array(values[m])
        slack = 4 * v.std() / np.sqrt(draws) + (0 if m in EXACT else 2e-3)
        assert abs(est[m] - v.mean()) <= slack, (m, est[m], v.mean(), slack)
        low, high = np.quantile(v, [0.005, 0.995])
        assert low <= est[m] <= high, (m, est[m], low, high)
    return est


def test_binary_estimate_matches_labels_drawn_from_the_probabilities():
    rng = np.random.default_rng(1)
    p = rng.beta(0.6, 1.4, size=3000)
    proba = np.column_stack([1 - p, p])
    est = check_against_draws(proba, proba, (p >= 0.5).astype(int), BINARY)
    assert set(est) == set(BINARY)
    assert est["accuracy"] == pytest.approx(np.mean(np.maximum(p, 1 - p)), abs=1e-15)
    assert est["brier"] == pytest.approx(np.mean(p * (1 - p)), abs=1e-15)


def test_multiclass_estimate_matches_labels_drawn_from_the_probabilities():
    rng = np.random.default_rng(2)
    proba = rng.dirichlet([0.5, 0.8, 1.2], size=2000)
    decisions = proba.argmax(axis=1)
    check_against_draws(proba, proba, decisions,
                        ["accuracy", "precision", "recall", "f1", "roc_auc", "log_loss",
                         "brier"], draws=150)


def test_soft_auc_of_hard_labels_is_the_roc_auc():
    rng = np.random.default_rng(3)
    score = np.round(rng.random(500), 2)  # ties, as trees give
    y = (rng.random(500) < score).astype(float)
    assert soft_auc(score, y) == pytest.approx(roc_auc_score(y, score), abs=1e-12)


def test_isotonic_map_is_scikit_learns_isotonic_regression():
    rng = np.random.default_rng(4)
    score = np.round(rng.random(2000), 3)
    y = (rng.random(2000) < score**2).astype(float)
    ours = IsotonicMap.fit(score, y)
    theirs = IsotonicRegression(out_of_bounds="clip").fit(score, y)
    new = np.r_[rng.random(500), -0.1, 1.2, score[:50]]
    np.testing.assert_allclose(ours(new), theirs.predict(new), rtol=0, atol=1e-12)


def test_simulated_metrics_start_from_the_actual_ones():
    rng = np.random.default_rng(5)
    p = rng.random(1000)
    y = (rng.random(1000) < p).astype(int)
    proba = np.column_stack([1 - p, p])
    sims = simulated_metrics(proba, (p >= 0.5).astype(int), y, draws=50)
    assert sims["roc_auc"][0] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert sims["accuracy"][0] == accuracy_score(y, p >= 0.5)
    assert sims["brier"][0] == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    assert all(len(v[1]) == 50 for v in sims.values())


def test_calibration_check_keeps_good_probabilities_and_fixes_bad_ones():
    rng = np.random.default_rng(6)
    score = rng.beta(0.7, 1.3, size=3000)
    proba = np.column_stack([1 - score, score])
    decisions = (score >= 0.5).astype(int)
    honest = (rng.random(3000) < score).astype(int)
    assert not Calibration.check(proba, decisions, honest).recalibrated
    # an under-confident model: the true chance is sharper than its probability
    truth = expit(2.5 * logit(np.clip(score, 1e-9, 1 - 1e-9)))
    labels = (rng.random(3000) < truth).astype(int)
    cal = Calibration.check(proba, decisions, labels)
    assert cal.recalibrated and cal.p_value < 0.01 and "z =" in cal.detail
    # on fresh rows of the same kind, the recalibrated estimate is close to the truth, the raw
    # one is not
    fresh = rng.beta(0.7, 1.3, size=4000)
    fresh_proba = np.column_stack([1 - fresh, fresh])
    fresh_truth = expit(2.5 * logit(np.clip(fresh, 1e-9, 1 - 1e-9)))
    fresh_q = np.column_stack([1 - fresh_truth, fresh_truth])
    target = estimate_metrics(fresh_proba, fresh_q, (fresh >= 0.5).astype(int))
    fixed = estimate_metrics(fresh_proba, cal.apply(fresh_proba), (fresh >= 0.5).astype(int))
    raw = estimate_metrics(fresh_proba, fresh_proba, (fresh >= 0.5).astype(int))
    for m in ("accuracy", "roc_auc"):
        assert abs(fixed[m] - target[m]) < 0.01 < abs(raw[m] - target[m]), m
