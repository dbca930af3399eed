"""The now-test's rank helper equals scipy.stats.rankdata ("average" ties), which it replaces
so that the label-free estimate does not import scipy.stats."""

import numpy as np
import pytest
from scipy import stats

from engine.nowtest.estimate import average_ranks


@pytest.mark.parametrize("n", [1, 2, 7, 1000, 20000])
def test_average_ranks_equal_scipys(n):
    rng = np.random.default_rng(n)
    for values in (rng.random(n), np.round(rng.random(n), 2), np.zeros(n)):
        assert np.array_equal(average_ranks(values), stats.rankdata(values))
