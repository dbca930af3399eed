"""Several models on one workstation: the demo flight model beside a sensor model (30 numeric
inputs, none shared with the flights) and a small three-input model, the latter two built with
scikit-learn, exported with engine.export and signed by bundle_kit.ALICE; the workspace's trust
store (the one in use) trusts the demo key and ALICE."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from engine.bundle.trust import load_trust_store, trust_store_path
from engine.export.exporter import export_model
from engine.registry.registry import Registry
from tests.engine.bundle_kit import ALICE, NOW, assemble
from tests.engine.workspace_kit import SAMPLE

SENSORS = [f"s{i:02d}" for i in range(30)]
SMALL = ["x0", "x1", "x2"]


def frame(columns: list[str], rows: int, seed: int) -> pd.DataFrame:
    """Numeric inputs, the label `y` and a time column `when` (two months)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(rows, len(columns))), columns=columns)
    y = (X[columns[0]] - X[columns[1]] + rng.normal(0, 0.5, rows) > 0).astype(int)
    when = np.where(np.arange(rows) % 2 == 0, "2026-01-15T00:00:00", "2026-02-15T00:00:00")
    return X.assign(y=y, when=when)


def bundle(model_id: str, columns: list[str], seed: int = 0, version: int = 1) -> bytes:
    data = frame(columns, 400, seed)
    X, y = data[columns], data["y"]
    fitted = LogisticRegression().fit(X, y)
    doc = export_model(fitted, data[[*columns, "y"]], "y", model_id)
    cases = X.iloc[:5].copy()
    proba = fitted.predict_proba(cases)
    cases["expected"] = fitted.predict(cases).astype(str)
    for i in (0, 1):
        cases[f"expected_proba_{i}"] = [repr(float(p)) for p in proba[:, i]]
    cases["tolerance"], cases["kind"], cases["note"], cases["source"] = "1e-12", "golden", "", "t"
    buf = io.StringIO()
    cases.to_csv(buf, index=False, float_format="%.17g")
    requirements = {"format": "ratchet-requirements/1",
                    "metrics": [{"metric": "roc_auc", "min": 0.6}]}
    payload = {"coefficients.json": json.dumps(doc).encode(),
               "requirements.json": json.dumps(requirements).encode(),
               "regression_cases.csv": buf.getvalue().encode()}
    return assemble(payload, model_id, version, signers=[ALICE])


def trust_alice(root: Path) -> None:
    store = load_trust_store(trust_store_path(root))
    store.with_key(ALICE.trusted()).save()


def install(root: Path, *bundles: bytes) -> None:
    with Registry.open(root) as registry:
        for data in bundles:
            registry.import_bundle(data, now=NOW)


def add_sensors(root: Path) -> None:
    """Trust ALICE and install test-sensors@1 (it becomes the most recently activated)."""
    trust_alice(root)
    install(root, bundle("test-sensors", SENSORS, seed=1))


def add_small(root: Path) -> None:
    install(root, bundle("test-small", SMALL, seed=2))


def write(path: Path, columns: list[str], rows: int = 200, seed: int = 5) -> Path:
    """A CSV with these model inputs plus `y` and `when`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame(columns, rows, seed).to_csv(path, index=False)
    return path


def flights(path: Path) -> Path:
    """The shipped flight sample with the label `late` (arr_delay > 15)."""
    df = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    delay = pd.to_numeric(df["arr_delay"], errors="coerce")
    df = df[delay.notna()]
    df["late"] = (delay[delay.notna()] > 15).astype(int).astype(str)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return path
