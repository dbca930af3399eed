"""Drift statistics of the now-test: each equals scipy's own on the same data; thresholds that
account for sample size (a million rows drawn from the reference do not flag, a small
reference sample's noise does not flag, a real shift does); missing values as a signal."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from engine.bundle.ziparchive import read_members
from engine.model import load_coefficients
from engine.model.categories import NUMBER
from engine.nowtest import drift
from engine.nowtest.profile import build_profile
from tests.engine.workspace_kit import DEMO_BUNDLE

DEMO = DEMO_BUNDLE
ALPHA = 0.001


@pytest.fixture(scope="module")
def demo():
    members = read_members(DEMO.read_bytes())
    model = load_coefficients(members["coefficients.json"])
    return model, build_profile(model, members["regression_cases.csv"])


def test_small_numeric_sample_is_scipys_ks_test():
    rng = np.random.default_rng(1)
    ref, cur = rng.normal(size=3000), rng.normal(0.3, 1, size=400)
    cur[:20] = np.nan  # missing values are left out of the values test
    d = drift.numeric_feature_drift("x", ref, cur, ALPHA)
    expected = stats.ks_2samp(ref, cur[20:])
    assert d.test == "ks" and d.threshold == ALPHA
    assert d.statistic == expected.statistic and d.p_value == expected.pvalue
    assert expected.pvalue < ALPHA and d.drifted
    assert d.missing_current == 20 / 400 and d.current_rows == 400


def test_large_numeric_sample_is_scipys_wasserstein_over_the_reference_std():
    rng = np.random.default_rng(2)
    ref, cur = rng.gamma(2, 3, size=3000), rng.gamma(2, 3.6, size=5000)
    d = drift.numeric_feature_drift("x", ref, cur, ALPHA)
    assert d.test == "wasserstein" and d.p_value is None
    assert d.statistic == pytest.approx(stats.wasserstein_distance(ref, cur) / np.std(ref),
                                        rel=1e-12)
    # the noise floor of a 3000-row reference of a skewed column is near the fixed 0.1
    floor = drift.wasserstein_floor(drift.spread_integral(np.sort(ref)), 3000, 5000)
    assert d.threshold == max(0.1, floor) and d.statistic > 2 * d.threshold and d.drifted


def test_small_category_sample_is_scipys_chi_square_of_homogeneity():
    rng = np.random.default_rng(3)
    ref = rng.choice(["EWR", "JFK", "LGA"], size=3000, p=[0.36, 0.33, 0.31])
    cur = rng.choice(["EWR", "JFK", "LGA"], size=600, p=[0.45, 0.30, 0.25])
    d = drift.categorical_feature_drift("origin", Counter(ref.tolist()), Counter(cur.tolist()),
                                        ALPHA)
    table = pd.crosstab(np.r_[np.zeros(3000), np.ones(600)], np.r_[ref, cur]).to_numpy()
    expected = stats.chi2_contingency(table)
    assert d.test == "chi2"
    assert d.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert d.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert d.drifted == bool(expected.pvalue < ALPHA)


def test_large_category_sample_is_scipys_jensen_shannon_distance_in_bits():
    rng = np.random.default_rng(4)
    names = ["AA", "B6", "DL", "UA", "US"]
    ref = Counter(rng.choice(names, size=3000, p=[0.2, 0.2, 0.2, 0.2, 0.2]).tolist())
    cur = Counter(rng.choice(names, size=20000, p=[0.4, 0.1, 0.2, 0.1, 0.2]).tolist())
    d = drift.categorical_feature_drift("carrier", ref, cur, ALPHA)
    p = np.array([ref[c] for c in names]) / 3000
    q = np.array([cur[c] for c in names]) / 20000
    assert d.test == "jensenshannon" and d.p_value is None
    assert d.statistic == pytest.approx(jensenshannon(p, q, base=2), rel=1e-12)
    assert d.drifted and d.threshold == 0.1


def test_a_million_rows_resampled_from_the_reference_do_not_flag(demo):
    """Every input and the predictions: a million rows drawn with replacement from the demo
    model's 3000 reference rows (p-values would be meaningless at this size)."""
    model, profile = demo
    idx = np.random.default_rng(5).integers(0, profile.rows, size=1_000_000)
    flagged = []
    for f in model.features:
        if f.type == NUMBER:
            ref = profile.numbers[f.name]
            d = drift.numeric_feature_drift(f.name, ref.values, ref.values[idx], ALPHA,
                                            ref.spread)
        else:
            counts = profile.categories[f.name]
            codes = np.repeat(np.arange(len(counts)), list(counts.values()))
            drawn = np.bincount(codes[idx], minlength=len(counts))
            resampled = Counter(dict(zip(counts, drawn.tolist(), strict=True)))
            d = drift.categorical_feature_drift(f.name, counts, resampled, ALPHA)
        assert d.current_rows == 1_000_000 and d.test in ("wasserstein", "jensenshannon")
        assert d.statistic < 0.02, (f.name, d.statistic)
        flagged += [f.name] if d.drifted else []
    pred = drift.numeric_feature_drift("prediction", profile.prediction,
                                       profile.prediction[idx], ALPHA)
    assert flagged == [] and not pred.drifted and pred.statistic < 0.02


def test_noise_floor_keeps_a_small_reference_from_flagging_its_own_distribution():
    """300 pairs of a 100-row reference and a 5000-row file from one skewed distribution: the
    fixed 0.1 threshold alone would flag many, the floor (3 J sqrt(1/n + 1/m)) about one in a
    thousand; a shift of one standard deviation is still found."""
    rng = np.random.default_rng(6)
    statistics, flags = [], 0
    for _ in range(300):
        ref = rng.lognormal(0, 0.7, size=100)
        d = drift.numeric_feature_drift("x", ref, rng.lognormal(0, 0.7, size=5000), ALPHA)
        statistics.append(d.statistic)
        flags += d.drifted
        assert d.threshold > 0.1  # the floor, not the fixed threshold, decides here
    assert np.mean(np.array(statistics) > 0.1) > 0.2 and flags <= 3
    shifted = ref.std() + rng.lognormal(0, 0.7, size=5000)
    assert drift.numeric_feature_drift("x", ref, shifted, ALPHA).drifted


def test_category_noise_floor_with_many_categories():
    rng = np.random.default_rng(7)
    p = rng.dirichlet(np.ones(60))
    names = [f"c{i}" for i in range(60)]
    ref = Counter(rng.choice(names, size=400, p=p).tolist())
    flags = sum(drift.categorical_feature_drift(
        "c", ref, Counter(rng.choice(names, size=5000, p=p).tolist()), ALPHA).drifted
        for _ in range(100))
    assert flags <= 1
    other = Counter(rng.choice(names, size=5000, p=rng.dirichlet(np.ones(60))).tolist())
    assert drift.categorical_feature_drift("c", ref, other, ALPHA).drifted


def test_missing_values_are_a_signal_of_their_own():
    rng = np.random.default_rng(8)
    ref = rng.normal(size=3000)
    cur = rng.normal(size=5000)
    cur[rng.random(5000) < 0.2] = np.nan  # the values present are unchanged
    d = drift.numeric_feature_drift("x", ref, cur, ALPHA)
    assert d.statistic < 0.1 and d.missing_drifted and d.drifted
    assert d.missing_reference == 0.0 and d.missing_current == pytest.approx(0.2, abs=0.02)
    same = rng.normal(size=5000)
    assert not drift.numeric_feature_drift("x", ref, same, ALPHA).drifted
    # category columns: missing is one more category of the distribution
    counts = drift.category_counts(np.array(["a", None, "b", "a", None], dtype=object))
    assert counts == Counter({"a": 2, drift.MISSING: 2, "b": 1})
    ref_c = Counter({"a": 1500, "b": 1500})
    cur_c = Counter({"a": 300, "b": 300, drift.MISSING: 200})
    d = drift.categorical_feature_drift("c", ref_c, cur_c, ALPHA)
    assert d.drifted and d.missing_current == 0.25


def test_rare_categories_are_merged_before_chi_square():
    table = np.array([[500.0, 480, 3, 2, 0], [100, 95, 1, 0, 2]])
    merged, names = drift.merge_rare(table, ["a", "b", "c", "d", "e"])
    assert names == ["a", "b", drift.RARE]
    assert merged.tolist() == [[500, 480, 5], [100, 95, 3]]
    unknown = drift.category_counts(np.array(["a", "zz", "yy"], dtype=object), known={"a"})
    assert unknown == Counter({"a": 1, drift.OTHER: 2})


def test_a_constant_reference_and_empty_samples():
    ref = np.full(3000, 7.0)
    assert not drift.numeric_feature_drift("x", ref, np.full(2000, 7.0), ALPHA).drifted
    moved = drift.numeric_feature_drift("x", ref, np.full(2000, 8.0), ALPHA)
    assert moved.drifted and moved.statistic == np.inf
    nothing = drift.numeric_feature_drift("x", ref, np.full(10, np.nan), ALPHA)
    assert nothing.missing_drifted and nothing.p_value is None
