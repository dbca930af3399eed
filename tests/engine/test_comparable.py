"""Which challengers can be compared with a champion before a back-test or a gate runs: the
same task, target and classes, and the challenger's inputs present in the corpus; the others
come with the reason."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from engine.backtest.comparable import check_candidates, check_challengers
from engine.export.exporter import export_model
from engine.registry.registry import Registry
from tests.engine.bundle_kit import ALICE, NOW, assemble, payload_for
from tests.engine.test_pinned_versions import wide_payload

CORPUS = ["x0", "x1", "x2", "y", "when"]


def regression_payload() -> dict[str, bytes]:
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["x0", "x1", "x2"])
    y = X["x0"] * 2 + rng.normal(0, 0.1, 200)
    doc = export_model(LinearRegression().fit(X, y), X.assign(y=y), "y", "test-reg")
    cases = X.iloc[:2].copy().assign(expected=[repr(float(v)) for v in
                                               LinearRegression().fit(X, y).predict(X.iloc[:2])],
                                     tolerance="1e-9", kind="golden", note="", source="t")
    buf = io.StringIO()
    cases.to_csv(buf, index=False, float_format="%.17g")
    return {"coefficients.json": json.dumps(doc).encode(),
            "requirements.json": json.dumps({"format": "ratchet-requirements/1",
                                             "metrics": []}).encode(),
            "regression_cases.csv": buf.getvalue().encode()}


def test_only_comparable_challengers_pass_and_the_others_say_why(alice_ws, tmp_path):
    reg = Registry(alice_ws)
    try:
        for payload, model_id, version in ((payload_for("test-model"), "test-model", 1),
                                           (payload_for("test-model", 4), "test-model", 2),
                                           (wide_payload(), "test-model", 3),
                                           (regression_payload(), "test-reg", 1)):
            reg.import_bundle(assemble(payload, model_id, version, signers=[ALICE]), now=NOW,
                              activate=version == 1)
        bundle = tmp_path / "bad.ratchet"
        bundle.write_bytes(assemble(payload_for("test-model"), version=9))  # unsigned
        specs = ["test-model@2", "test-model@3", "test-reg@1", bundle]
        found = check_challengers(reg, "test-model@1", specs, CORPUS)
        assert found["test-model@2"] is None
        assert found["test-model@3"] == "the corpus lacks 1 of its input columns (x3)"
        assert found["test-reg@1"] == "it is a regression model, test-model@1 a binary model"
        assert found[bundle]  # refused by verification: its refusal is the reason
        # before a corpus is chosen only the models are compared
        assert check_challengers(reg, "test-model@1", specs, None)["test-model@3"] is None
        # the gate: each candidate against the active version of its own model id
        gate = check_candidates(reg, ["test-model@2", "test-model@3", "test-model@1"], CORPUS)
        assert gate == {"test-model@2": None,
                        "test-model@3": "the corpus lacks 1 of its input columns (x3)",
                        "test-model@1": "it is the active version: the champion itself"}
    finally:
        reg.close()
