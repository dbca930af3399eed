"""Pinned outliers across versions: the whole row of the operator's file is kept, so a later
version that reads another column replays it with that column; the version a row was pinned
under must reproduce its probabilities, any other version (and a row pinned before versions
were kept) its decision."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from engine.export.exporter import export_model
from engine.registry.registry import Registry
from engine.regression.outliers import pin_row, pinned_csv
from engine.services.regress import pin_outlier, run_model_suite
from tests.engine.bundle_kit import ALICE, NOW, assemble, payload_for

WIDE = ["x0", "x1", "x2", "x3"]


def wide_payload() -> dict[str, bytes]:
    """Version 2: a model that also reads x3, a column version 1 never used."""
    rng = np.random.default_rng(11)
    X = pd.DataFrame(rng.normal(size=(300, 4)), columns=WIDE)
    y = (X["x0"] - X["x1"] + 2 * X["x3"] + rng.normal(0, 0.5, 300) > 0).astype(int)
    fitted = LogisticRegression().fit(X, y)
    doc = export_model(fitted, X.assign(y=y), "y", "test-model")
    cases = X.iloc[:3].copy()
    proba = fitted.predict_proba(cases)
    cases["expected"] = fitted.predict(cases).astype(str)
    cases["expected_proba_0"] = [repr(float(p)) for p in proba[:, 0]]
    cases["expected_proba_1"] = [repr(float(p)) for p in proba[:, 1]]
    cases = cases.assign(tolerance="1e-12", kind="golden", note="", source="test")
    buf = io.StringIO()
    cases.to_csv(buf, index=False, float_format="%.17g")
    return {"coefficients.json": json.dumps(doc).encode(),
            "requirements.json": json.dumps({"format": "ratchet-requirements/1",
                                             "metrics": []}).encode(),
            "regression_cases.csv": buf.getvalue().encode()}


def install(ws, payload, version):
    reg = Registry(ws)
    try:
        reg.import_bundle(assemble(payload, version=version, signers=[ALICE]), now=NOW)
    finally:
        reg.close()


def classes(model, rows: pd.DataFrame) -> np.ndarray:
    table = {n: rows[n].to_numpy(dtype=object) for n in model.feature_names}
    return model.predict(table).prediction


def test_a_pinned_row_is_replayed_whole_and_judged_by_the_version(alice_ws):
    install(alice_ws, payload_for("test-model"), 1)
    install(alice_ws, wide_payload(), 2)
    rng = np.random.default_rng(3)
    ops = pd.DataFrame({n: [repr(float(v)) for v in rng.normal(size=200)] for n in WIDE})
    ops["flight"] = [f"UA{i}" for i in range(200)]  # a column no version reads, kept too
    reg = Registry(alice_ws)
    try:
        v1, _ = reg.load_model("test-model@1")
        v2, _ = reg.load_model("test-model@2")
        same = classes(v1, ops) == classes(v2, ops)
        agree, differ = ops[same].iloc[0], ops[~same].iloc[0]
        reg.activate("test-model", 1)
        pin_outlier(reg, None, agree.to_dict(), "agreed", "ops.csv row 4")
        pin_outlier(reg, None, differ.to_dict(), "disputed", "ops.csv row 9")
        stored = reg.db.execute("SELECT version, inputs FROM pinned_cases ORDER BY id").fetchall()
        assert [r["version"] for r in stored] == [1, 1]
        assert json.loads(stored[0]["inputs"]) == {k: str(v) for k, v in agree.items()}

        # version 2 replays the rows with x3 (its own input, absent from v1's), held to v1's
        # decisions: the row both decide alike passes despite other probabilities, the other
        # fails on its class, never on a probability
        replay = pd.read_csv(io.BytesIO(pinned_csv(reg.db, "test-model", v2, 2)), dtype=str)
        assert list(replay["x3"]) == [agree["x3"], differ["x3"]]
        assert not any(c.startswith("expected_proba_") for c in replay.columns)
        on_v2 = run_model_suite(reg, "test-model@2").result
        outliers = [c for c in on_v2.cases if c.kind == "outlier"]
        assert [c.passed for c in outliers] == [True, False]
        assert "predicted class" in outliers[1].detail and "P(" not in outliers[1].detail
        assert "pinned under v1; held to its decision" in on_v2.problems[0]

        # version 1 must reproduce the probabilities it was pinned with: a pinned probability
        # off by 1e-6 fails it, and not version 2, which is held to the class only
        probabilities = json.loads(reg.db.execute(
            "SELECT probabilities FROM pinned_cases WHERE id = 1").fetchone()[0])
        probabilities["1"] = repr(float(probabilities["1"]) + 1e-6)
        with reg.db:
            reg.db.execute("UPDATE pinned_cases SET probabilities = ? WHERE id = 1",
                           (json.dumps(probabilities),))
        on_v1 = [c for c in run_model_suite(reg, "test-model@1").result.cases
                 if c.kind == "outlier"]
        assert [c.passed for c in on_v1] == [False, True] and "P(1)" in on_v1[0].detail
        on_v2 = [c for c in run_model_suite(reg, "test-model@2").result.cases
                 if c.kind == "outlier"]
        assert [c.passed for c in on_v2] == [True, False]
    finally:
        reg.close()


def test_a_row_pinned_before_versions_were_kept_is_held_to_its_decision(alice_ws):
    install(alice_ws, payload_for("test-model"), 1)
    reg = Registry(alice_ws)
    try:
        v1, _ = reg.load_model("test-model@1")
        row = {"x0": "0.5", "x1": "-0.25", "x2": "1.0"}
        pin_row(reg.db, "test-model", row, "old pin", "ops.csv row 2", v1)  # no version
        with reg.db:
            reg.db.execute("UPDATE pinned_cases SET probabilities = '{\"0\": \"0.5\"}'")
        replay = pd.read_csv(io.BytesIO(pinned_csv(reg.db, "test-model", v1, 1)), dtype=str)
        assert "expected_proba_0" not in replay.columns
        assert "pinned under an earlier version" in replay["note"][0]
        cases = run_model_suite(reg, "test-model@1").result.cases
        assert [(c.kind, c.passed) for c in cases][-1] == ("outlier", True)
    finally:
        reg.close()
