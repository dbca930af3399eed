"""Failure texts show numbers people can read: four decimals at least, more only as far as the
difference between the two values compared needs (never two different values looking equal)."""

from __future__ import annotations

import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from engine.formats.cases import run_cases
from engine.formats.numbers import shown, shown_pair
from tests.engine.conftest import roundtrip
from tests.engine.test_parity_pipelines import mixed_frame


@pytest.mark.parametrize("a, b, expected", [
    (0.9999612345678901, 0.99975, ("0.99996", "0.99975")),
    (0.91999996, 0.92, ("0.91999996", "0.92")),  # close: as many digits as tell them apart
    (0.5, 0.5, ("0.5", "0.5")),
    (123.456789, 120.0, ("123.4568", "120")),
    (1.2e-7, 3.4e-8, ("1.2e-07", "3.4e-08")),
    (0.1, 0.1 + 2**-56, ("0.10000000000000001", "0.10000000000000002")),  # neighbours
    (float("nan"), 0.9, ("nan", "0.9")),
])
def test_two_values_are_shown_apart_and_short(a, b, expected):
    assert shown_pair(a, b) == expected


def test_one_value_to_four_decimals():
    assert shown(0.123456789) == "0.1235" and shown(2.0) == "2"


def _cases(df, model, expected_cols: dict[str, str]) -> bytes:
    rows = df.head(1).copy()
    for name, value in expected_cols.items():
        rows[name] = value
    rows["tolerance"] = "1e-9"
    rows["kind"] = "golden"
    return rows[[*model.feature_names, *expected_cols, "tolerance", "kind"]].to_csv(
        index=False).encode()


def test_a_failed_probability_case_reads_short():
    df, y = mixed_frame(300, seed=3, nan_share=0)
    df = df[["a", "b", "c"]]
    model, _ = roundtrip(LogisticRegression().fit(df, y), df, y)
    p = float(model.predict(df.head(1)).proba[0, 1])
    label = str(model.predict(df.head(1)).prediction[0])
    off = repr(p - 0.00021)  # a full-precision expected value, as a publisher may write it
    [result] = run_cases(_cases(df, model, {"expected": label, "expected_proba_1": off}), model)
    assert not result.passed
    got, want = shown_pair(p, float(off))
    assert result.detail == f"P(1) = {got}, expected {want} ± 1e-09"
    assert len(got) <= 8 and len(want) <= 8  # not 17 digits


def test_a_failed_regression_case_reads_short():
    df, _ = mixed_frame(300, seed=4, nan_share=0)
    df = df[["a", "b", "c"]]
    y = df["a"] * 1.2345678 + df["b"] / 3
    model, _ = roundtrip(LinearRegression().fit(df, y), df, y)
    value = float(model.predict(df.head(1)).prediction[0])
    [result] = run_cases(_cases(df, model, {"expected": repr(value + 0.5)}), model)
    got, want = shown_pair(value, value + 0.5)
    assert result.detail == f"predicted {got}, expected {want} ± 1e-09"
    assert len(got.split(".")[-1]) <= 4
