"""The large-sample drift statistics (engine/nowtest/distances.py) equal scipy's, and the two
ways of counting text values (engine/nowtest/tally.py) give the same counts and codes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from engine.nowtest.distances import chi2_quantile, jensenshannon_bits, wasserstein
from engine.nowtest.tally import factorize, value_counts
from tests.engine.conftest import find_flights_csv


@pytest.fixture(scope="module")
def delays():
    import pandas as pd

    frame = pd.read_csv(find_flights_csv(), usecols=["dep_delay", "month", "carrier"])
    return frame


@pytest.mark.parametrize("dof", [*range(1, 40), 60, 99, 250, 1000, 5000])
@pytest.mark.parametrize("probability", [0.5, 0.95, 0.999, 0.999999])
def test_chi2_quantile_is_scipys(dof, probability):
    assert chi2_quantile(probability, dof) == pytest.approx(stats.chi2.ppf(probability, dof),
                                                             rel=1e-12)


def test_wasserstein_is_scipys_on_real_delays(delays):
    for month in (1, 7, 12):
        u = delays.loc[delays.month == 6, "dep_delay"].dropna().to_numpy()
        v = delays.loc[delays.month == month, "dep_delay"].dropna().to_numpy()[:5000]
        u_values, u_weights = np.unique(u, return_counts=True)
        v_values, v_weights = np.unique(v, return_counts=True)
        ours = wasserstein(u_values, v_values, u_weights.astype(float), v_weights.astype(float))
        assert ours == pytest.approx(
            stats.wasserstein_distance(u_values, v_values, u_weights, v_weights), rel=1e-12)
        assert ours == pytest.approx(stats.wasserstein_distance(u, v), rel=1e-9)
    assert (wasserstein(u_values, u_values, u_weights.astype(float), u_weights.astype(float))
            == 0.0)


def test_jensenshannon_is_scipys_on_real_carriers(delays):
    names = sorted(delays.carrier.unique())
    june = delays[delays.month == 6].carrier.value_counts().reindex(names, fill_value=0)
    for month in (1, 6, 11):
        other = delays[delays.month == month].carrier.value_counts().reindex(names,
                                                                           fill_value=0)
        p, q = june.to_numpy(float), other.to_numpy(float)
        q[0] = 0.0  # a category one side never saw
        assert jensenshannon_bits(p, q) == pytest.approx(jensenshannon(p, q, base=2),
                                                         rel=1e-12, abs=1e-15)
    assert jensenshannon_bits(p, p) == 0.0
    assert jensenshannon_bits(np.array([1.0, 0]), np.array([0, 1.0])) == pytest.approx(1.0)


def test_both_tallies_agree_on_real_text_with_missing_values(delays):
    values = delays.carrier.to_numpy(dtype=object)[:20000].copy()
    values[::7] = None
    values[3::11] = float("nan")
    small, large = value_counts(values, pandas_rows=10**9), value_counts(values, pandas_rows=0)
    assert small == large
    assert dict(small)[None] == sum(1 for i in range(20000) if i % 7 == 0 or i % 11 == 3)
    assert sum(n for _, n in small) == 20000  # every value counted once
    present = np.array([v is not None and v == v for v in values])
    assert dict(small) == {**delays.carrier[:20000][present].value_counts().to_dict(),
                           None: int((~present).sum())}
    assert [n for _, n in small] == sorted((n for _, n in small), reverse=True)
    codes_small, uniques_small = factorize(values, pandas_rows=10**9)
    codes_large, uniques_large = factorize(values, pandas_rows=0)
    assert uniques_small == uniques_large
    assert np.array_equal(codes_small, codes_large)
    decoded = np.array([*uniques_small, None], dtype=object)[codes_small]
    assert np.array_equal(decoded[present], values[present])
    assert (codes_small[~present] == -1).all()
