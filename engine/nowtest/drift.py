"""Drift of one column of the current data against the reference sample.

Which test, and when it says "drifted":

- Numbers, small samples (at most SMALL_SAMPLE values in the current data): the two-sample
  Kolmogorov-Smirnov test (`scipy.stats.ks_2samp`); drifted when its p-value is below `alpha`
  (the caller's share of a family-wise error rate: several columns are tested at once).
- Numbers, large samples: the Wasserstein distance (as `scipy.stats.wasserstein_distance`)
  divided by the reference's standard deviation; drifted above max(0.1, a noise floor). Chosen
  over PSI because it needs no binning (PSI's bins decide what it can see, and columns such as
  `month` or `hour` hold a few repeated values that make quantile bins collapse), it reads in a
  unit people know ("the distribution moved by a fifth of a standard deviation"), and it has a
  known sampling behaviour to derive the noise floor from (below).
- Categories, small samples: Pearson's chi-square test of homogeneity on the 2 x K table of
  reference and current counts (`scipy.stats.chi2_contingency`), categories that would expect
  fewer than 5 current rows merged into one; drifted when p < `alpha`.
- Categories, large samples: the Jensen-Shannon distance in bits (as
  `scipy.spatial.distance.jensenshannon`, base 2) between the two distributions; drifted above
  max(0.1, a noise floor).
- Missing values are a category of their own: for category columns inside the distribution
  itself; for number columns as a missing / present split tested like a category column, next
  to the test on the values that are present (`FeatureDrift.missing_*`).

p-values shrink with the sample size even when the difference is too small to matter, so a
million rows would flag nearly every column; the large-sample statistics are effect sizes with
a fixed threshold instead. Their noise floor keeps a small *reference* sample (a few hundred
rows) from making sampling noise look like drift: two samples of n and m rows from one
distribution differ by about sqrt(1/n + 1/m) in these statistics, and the floor sits several
standard deviations above that.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from engine.nowtest.distances import chi2_quantile, jensenshannon_bits, wasserstein
from engine.nowtest.result import FeatureDrift
from engine.nowtest.tally import value_counts

# scipy.stats is imported only for the p-value tests of small samples: the large-sample
# statistics are computed in engine/nowtest/distances.py, so that a now-test of a few thousand
# rows does not spend ~0.7 s importing scipy (issue 16).

SMALL_SAMPLE = 1000  # current rows up to which the p-value tests are used
DISTANCE_THRESHOLD = 0.1  # normalized Wasserstein and Jensen-Shannon distance
MIN_EXPECTED = 5  # Cochran's rule for chi-square cells
MISSING = "(missing)"
OTHER = "(other)"
RARE = "(rare)"


def sample_scale(n: int, m: int) -> float:
    return math.sqrt(1.0 / n + 1.0 / m)


# ---------------------------------------------------------------- numbers


def spread_integral(sorted_values: np.ndarray) -> float:
    """J = the integral of sqrt(F (1 - F)) dx over the reference's empirical distribution F,
    divided by its standard deviation. For two samples of sizes n and m from one distribution,
    sqrt(nm / (n + m)) times the normalized Wasserstein distance tends to the integral of
    |B(F(x))| dx / sd (B a Brownian bridge), whose mean is sqrt(2 / pi) J."""
    n = sorted_values.size
    std = float(np.std(sorted_values)) if n else 0.0
    if n < 2 or std == 0:
        return 0.0
    f = np.arange(1, n) / n
    return float(np.sum(np.sqrt(f * (1 - f)) * np.diff(sorted_values)) / std)


def wasserstein_floor(spread: float, n: int, m: int) -> float:
    """3 J sqrt(1/n + 1/m). The ratio of the normalized distance to J sqrt(1/n + 1/m) has mean
    about 0.8 (sqrt(2 / pi), as above); simulated on normal, lognormal, gamma, Pareto, bimodal
    and six-valued discrete data, with reference samples from 150 rows, its 99.9th percentile
    lay between 1.7 and 3.4, so sampling noise alone crosses 3 about once in a thousand."""
    return 3.0 * spread * sample_scale(n, m)


def numeric_values_drift(reference: np.ndarray, current: np.ndarray, alpha: float,
                         spread: float | None = None) -> tuple[str, float, float | None, float,
                                                               bool]:
    """(test, statistic, p_value, threshold, drifted) of the present values (no NaN)."""
    n, m = reference.size, current.size
    if n == 0 or m == 0:
        return "ks", 0.0, None, alpha, False
    if m <= SMALL_SAMPLE:
        from scipy import stats

        res = stats.ks_2samp(reference, current)
        p = float(res.pvalue)
        return "ks", float(res.statistic), p, alpha, p < alpha
    std = float(np.std(reference))
    # Each sample as its distinct values and their counts: the same distributions, so the same
    # distance, without scipy sorting a million repeated values twice.
    u_values, u_weights = np.unique(reference, return_counts=True)
    v_values, v_weights = np.unique(current, return_counts=True)
    distance = wasserstein(u_values, v_values, u_weights.astype(np.float64),
                           v_weights.astype(np.float64))
    # a constant reference: any difference at all is drift
    statistic = distance / std if std > 0 else (0.0 if distance == 0 else math.inf)
    if spread is None:
        spread = spread_integral(np.sort(reference))
    threshold = max(DISTANCE_THRESHOLD, wasserstein_floor(spread, n, m))
    return "wasserstein", statistic, None, threshold, statistic > threshold


# ---------------------------------------------------------------- categories


def js_floor(categories: int, n: int, m: int) -> float:
    """For small differences the Jensen-Shannon divergence (in nats) is 1/8 of the symmetric
    chi-square divergence, which for two samples from one distribution is about
    (1/n + 1/m) chi2(K - 1); the floor is the distance at chi2's 99.9th percentile."""
    if categories < 2:
        return 0.0
    chi = chi2_quantile(0.999, categories - 1)
    return math.sqrt(chi * sample_scale(n, m) ** 2 / (8 * math.log(2)))


def merge_rare(table: np.ndarray, names: list[str], min_expected: float = MIN_EXPECTED
               ) -> tuple[np.ndarray, list[str]]:
    """Merge the columns of a 2 x K count table whose expected count in the smaller sample
    (pooled share x its rows) is below `min_expected` into one column (Cochran's rule for
    chi-square; for the distances, it keeps categories too rare to be measured in the
    reference from counting as drift)."""
    pooled = table.sum(axis=0)
    keep = pooled > 0
    table, names = table[:, keep], [c for c, k in zip(names, keep, strict=True) if k]
    expected = table.sum(axis=0) / table.sum() * table.sum(axis=1).min()
    rare = expected < min_expected
    if rare.sum() <= 1 or rare.all():
        return table, names
    merged = np.column_stack([table[:, ~rare], table[:, rare].sum(axis=1)])
    return merged, [c for c, r in zip(names, rare, strict=True) if not r] + [RARE]


def count_table(reference: Counter, current: Counter) -> tuple[np.ndarray, list[str]]:
    """The 2 x K table of counts over the union of both samples' categories (sorted)."""
    names = sorted(set(reference) | set(current))
    table = np.array([[reference.get(c, 0) for c in names], [current.get(c, 0) for c in names]],
                     dtype=np.float64)
    return table, names


def categorical_drift(reference: Counter, current: Counter, alpha: float
                      ) -> tuple[str, float, float | None, float, bool]:
    """(test, statistic, p_value, threshold, drifted) of two category count tables."""
    table, names = count_table(reference, current)
    n, m = int(table[0].sum()), int(table[1].sum())
    if n == 0 or m == 0:
        return "chi2", 0.0, None, alpha, False
    table, names = merge_rare(table, names)
    if m <= SMALL_SAMPLE:
        if table.shape[1] < 2:  # one category in both: nothing can differ
            return "chi2", 0.0, 1.0, alpha, False
        from scipy import stats

        res = stats.chi2_contingency(table)
        p = float(res.pvalue)
        return "chi2", float(res.statistic), p, alpha, p < alpha
    distance = jensenshannon_bits(table[0] / n, table[1] / m)
    threshold = max(DISTANCE_THRESHOLD, js_floor(table.shape[1], n, m))
    return "jensenshannon", distance, None, threshold, distance > threshold


def category_counts(values: np.ndarray, known: set[str] | None = None) -> Counter:
    """Counts of text values, None as MISSING; with `known`, other values count as OTHER (so a
    column of a million distinct ids does not make a million categories)."""
    out: Counter = Counter()
    if values.size == 0:
        return out
    for value, count in value_counts(values):
        if value is None:
            key = MISSING
        else:
            key = str(value)
            if known is not None and key not in known:
                key = OTHER
        out[key] += int(count)
    return +out  # drop zero counts


# ---------------------------------------------------------------- one feature


def numeric_feature_drift(name: str, reference: np.ndarray, current: np.ndarray, alpha: float,
                          spread: float | None = None) -> FeatureDrift:
    """A number column (NaN = missing): the values test, plus the missing / present split."""
    ref_missing = np.isnan(reference)
    cur_missing = np.isnan(current)
    test, statistic, p, threshold, drifted = numeric_values_drift(
        reference[~ref_missing], current[~cur_missing], alpha, spread)
    miss = missing_drift(int(ref_missing.sum()), reference.size, int(cur_missing.sum()),
                         current.size, alpha)
    return FeatureDrift(name, test, statistic, p, threshold, bool(drifted or miss[0]),
                        int(reference.size), int(current.size), miss[1], miss[2], miss[0])


def missing_drift(ref_missing: int, n: int, cur_missing: int, m: int, alpha: float
                  ) -> tuple[bool, float, float]:
    """(drifted, reference share, current share) of missing values, tested like a category
    column with two categories."""
    if n == 0 or m == 0:
        return False, 0.0, 0.0
    ref_share, cur_share = ref_missing / n, cur_missing / m
    if ref_missing + cur_missing == 0:
        return False, ref_share, cur_share
    reference = Counter({MISSING: ref_missing, "present": n - ref_missing})
    current = Counter({MISSING: cur_missing, "present": m - cur_missing})
    drifted = categorical_drift(+reference, +current, alpha)[4]
    return bool(drifted), ref_share, cur_share


def categorical_feature_drift(name: str, reference: Counter, current: Counter, alpha: float
                              ) -> FeatureDrift:
    """A category column: missing values are one more category of the distribution."""
    test, statistic, p, threshold, drifted = categorical_drift(reference, current, alpha)
    n, m = sum(reference.values()), sum(current.values())
    return FeatureDrift(name, test, statistic, p, threshold, bool(drifted), int(n), int(m),
                        reference.get(MISSING, 0) / n if n else 0.0,
                        current.get(MISSING, 0) / m if m else 0.0)
