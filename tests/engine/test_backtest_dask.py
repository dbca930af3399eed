"""`--dask ADDRESS`: the corpus scored on a real Dask cluster (a LocalCluster of two worker
processes) gives exactly the numbers of the local path; a bad address is a clear, quick
input error with nothing recorded."""

from __future__ import annotations

import time

import pytest

from engine.backtest.run import Contender, run_backtest
from engine.bundle.ziparchive import read_members
from engine.formats.requirements import parse_requirements
from engine.model import load_coefficients
from tests.engine import test_backtest_demo as demo
from tests.engine.test_backtest_demo import CHALLENGER, build_challenger, history, write_months

# The demo tests' fixtures: the 2013 flights and the CLI (on conftest's `ws`, the demo workspace).
flights, cli = demo.flights, demo.cli


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as local:
        yield local


def test_dask_path_gives_exactly_the_local_numbers(cluster, flights, tmp_path):
    corpus = write_months(flights, tmp_path / "corpus", ["2013-06", "2013-07", "2013-08"],
                          rows=2500)
    members = read_members(build_challenger(tmp_path / "v2.ratchet").read_bytes())
    other = Contender(CHALLENGER, load_coefficients(members["coefficients.json"]),
                      parse_requirements(members["requirements.json"]),
                      members["coefficients.json"])
    here = run_backtest(corpus, "time_hour", "month", demo.demo_contender(), [other])
    seen = []
    there = run_backtest(corpus, "time_hour", "month", demo.demo_contender(), [other],
                         dask=cluster.scheduler_address,
                         progress=lambda f, m: seen.append(m))
    assert there.to_json() == here.to_json()
    assert [m for m in seen if "on Dask" in m] == [f"Scored {i} of 3 files on Dask"
                                                  for i in (1, 2, 3)]
    assert len(here.partitions) == 6 and here.verdict == {CHALLENGER: "worse"}


def test_a_bad_dask_address_is_a_quick_clear_error(flights, tmp_path, cli, ws):
    corpus = write_months(flights, tmp_path / "corpus", ["2013-07"], rows=200)
    started = time.monotonic()
    code, doc, _ = cli(str(corpus), "--time-column", "time_hour", "--dask",
                         "tcp://127.0.0.1:9")
    assert code == 2 and doc["error"] == "E_DASK_CONNECT"
    assert "tcp://127.0.0.1:9" in doc["message"] and "scheduler is running" in doc["message"]
    assert time.monotonic() - started < 60  # a short connect timeout, not a hang
    assert history(ws) == [] and list(ws.reports_dir.iterdir()) == []
