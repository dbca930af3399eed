"""The shipped demo model: verified and installed into a new workspace on first start, and
reproducible from its build script's inputs."""

from __future__ import annotations

import pandas as pd

from engine.ground.paths import Workspace
from engine.registry.first_start import first_start
from engine.registry.registry import Registry
from tests.engine.conftest import find_flights_csv
from tests.engine.workspace_kit import DEMO_ID, DEMO_LABEL


def test_first_start_installs_the_demo_model_once(tmp_path, monkeypatch):
    monkeypatch.delenv("RATCHET_TRUST_STORE", raising=False)
    ws = Workspace.open(tmp_path / "ws")
    assert first_start(ws) == [DEMO_LABEL]
    assert (ws.root / "trust.json").is_file()
    assert first_start(ws) == []  # idempotent
    reg = Registry(ws)
    try:
        model, label = reg.load_model()
        history = reg.activations(DEMO_ID)
    finally:
        reg.close()
    assert label == DEMO_LABEL and model.task == "binary"
    assert [h["action"] for h in history] == ["import"]
    # It scores the real data of the second half of 2013, with a sensible late share.
    flights = pd.read_csv(find_flights_csv())
    later = flights[flights["month"] >= 7].sample(5000, random_state=0)
    result = model.predict(later)
    assert not result.rejected.any(), result.errors  # NaN times and new carriers are accepted
    share = float((result.prediction == 1).mean())
    assert 0.02 < share < 0.6
