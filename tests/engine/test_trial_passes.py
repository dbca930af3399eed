"""How often a trial reads the operator's file: a predict (or a now-test) while a trial runs
parses the input once for the operator and once for the challenger, whose single pass also
scores the champion for the comparison. Passes are counted at the one place a CSV input is
read chunk by chunk (engine.batch.records.iter_chunks)."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

from engine.batch import records
from engine.registry.registry import Registry
from engine.trial.trial import start_trial, trial_status
from tests.engine import test_trial_kit as kit

bundles, cli, data, flights = kit.bundles, kit.cli, kit.data, kit.flights


@pytest.fixture
def passes(monkeypatch) -> Counter:
    """Passes over each input file (by resolved path) from now on."""
    original = records.iter_chunks
    counted: Counter = Counter()

    def counting(path, *args, **kwargs):
        counted[Path(path).resolve()] += 1
        return original(path, *args, **kwargs)

    monkeypatch.setattr(records, "iter_chunks", counting)
    for module in list(sys.modules.values()):  # modules that bound the name at import
        if (getattr(module, "__name__", "").startswith("engine.")
                and getattr(module, "iter_chunks", None) is original):
            monkeypatch.setattr(module, "iter_chunks", counting)
    return counted


@pytest.fixture
def running_trial(ws, bundles, data):
    reg = Registry(ws)
    try:
        gate, _ = start_trial(reg, bundles["better"], data["corpus"], "time_hour", batches=2)
    finally:
        reg.close()
    assert gate.accepted, gate.reasons


def observations(ws) -> list:
    reg = Registry(ws)
    try:
        return trial_status(reg).observations
    finally:
        reg.close()


def test_a_predict_during_a_trial_reads_its_input_twice(running_trial, cli, ws, data,
                                                        passes, tmp_path):
    code, _, err = cli("predict", str(data["batch"]), "-o", str(tmp_path / "out.csv"))
    assert code == 0, err
    assert passes[data["batch"].resolve()] == 2  # the operator's, the challenger's
    [observed] = observations(ws)
    assert observed.kind == "batch" and observed.error is None
    assert observed.comparison["rows"] == 400 and observed.comparison["labelled"] > 300


def test_a_nowtest_during_a_trial_reads_its_input_twice(running_trial, cli, ws, data, passes):
    code, _, err = cli("nowtest", str(data["latest"]))
    assert code == 1, err  # the champion misses its requirement in December
    assert passes[data["latest"].resolve()] == 2
    [observed] = observations(ws)
    assert observed.kind == "nowtest" and observed.error is None
    assert observed.comparison["rows"] == 1500 and observed.comparison["champion_alarms"]
