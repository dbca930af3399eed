"""The large-sample drift statistics in numpy: what scipy.stats.wasserstein_distance,
scipy.spatial.distance.jensenshannon and scipy.stats.chi2.ppf compute, without importing them.

A now-test of more than SMALL_SAMPLE rows needs only these three, and importing scipy.stats
(with scipy.optimize, scipy.special and scipy.spatial behind it) cost a now-test of a 2,000-row
file about 0.7 s of its 2 s (issue 16); the p-value tests of small samples (ks_2samp,
chi2_contingency) still use scipy. Each function follows scipy's own definition, and
tests/engine/test_drift_distances.py holds them to scipy's results.
"""

from __future__ import annotations

import math

import numpy as np


def wasserstein(u_values: np.ndarray, v_values: np.ndarray, u_weights: np.ndarray,
                v_weights: np.ndarray) -> float:
    """The first Wasserstein distance between two weighted samples: the area between their
    cumulative distribution functions (scipy.stats._stats_py._cdf_distance with p = 1)."""
    u_order, v_order = np.argsort(u_values), np.argsort(v_values)
    u_sorted, v_sorted = u_values[u_order], v_values[v_order]
    every = np.concatenate((u_values, v_values))
    every.sort(kind="mergesort")
    deltas = np.diff(every)
    u_cum = np.concatenate(([0], np.cumsum(u_weights[u_order])))
    v_cum = np.concatenate(([0], np.cumsum(v_weights[v_order])))
    u_cdf = u_cum[u_sorted.searchsorted(every[:-1], "right")] / u_cum[-1]
    v_cdf = v_cum[v_sorted.searchsorted(every[:-1], "right")] / v_cum[-1]
    return float(np.dot(np.abs(u_cdf - v_cdf), deltas))


def jensenshannon_bits(p: np.ndarray, q: np.ndarray) -> float:
    """The Jensen-Shannon distance in bits: sqrt of the mean of the two relative entropies
    against the midpoint distribution, each distribution normalized first."""
    p, q = p / np.sum(p), q / np.sum(q)
    m = (p + q) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log(p / m), 0.0)
        right = np.where(q > 0, q * np.log(q / m), 0.0)
    divergence = (np.sum(left) + np.sum(right)) / math.log(2.0)
    return math.sqrt(max(divergence, 0.0) / 2.0)


def _upper_gamma(a: float, x: float) -> float:
    """The regularized upper incomplete gamma function Q(a, x): its series below a + 1, its
    continued fraction (modified Lentz) above, both to double precision."""
    if x <= 0:
        return 1.0
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        n = a
        while abs(term) > abs(total) * 1e-17:
            n += 1
            term *= x / n
            total += term
        return 1.0 - total * math.exp(log_front)
    tiny = 1e-300
    b = x + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        step = d * c
        h *= step
        if abs(step - 1) < 1e-16:
            break
    return math.exp(log_front) * h


def chi2_quantile(probability: float, dof: int) -> float:
    """x with P(chi-square(dof) <= x) = probability (scipy.stats.chi2.ppf), by bisection on
    the upper tail Q(dof / 2, x / 2) = 1 - probability to the last few bits."""
    tail = 1.0 - probability
    lo, hi = 0.0, max(1.0, 2.0 * dof)
    while _upper_gamma(dof / 2.0, hi / 2.0) > tail:
        lo, hi = hi, hi * 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if _upper_gamma(dof / 2.0, mid / 2.0) > tail:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2
