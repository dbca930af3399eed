"""why_k cells are quoted when the delimiter occurs in them, in the value or in the amount: a
number's cell is checked only when the delimiter is one of the characters it is shown with
(explain_cells)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingRegressor

from engine.batch.explain_cells import ExplainRequest, explanation_cells
from engine.model.rows import RowErrors
from tests.engine.conftest import roundtrip


def _cells(delimiter: str) -> list[str]:
    rng = np.random.default_rng(4)
    X = pd.DataFrame({"a": rng.normal(size=300).round(), "b": rng.normal(size=300)})
    y = X["a"] * 2 + X["b"]
    model, _ = roundtrip(GradientBoostingRegressor(n_estimators=5).fit(X, y), X, y)
    columns = {c: X[c].to_numpy() for c in X.columns}
    prediction = model.predict_columns(columns, RowErrors(len(X)))
    return explanation_cells(ExplainRequest(top=1), model, columns, prediction,
                             delimiter)[0].to_pylist()


def test_a_number_holding_the_delimiter_is_quoted():
    plain = _cells(";")
    assert all(not c.startswith('"') for c in plain)
    dotted = _cells(".")
    whole = [i for i, c in enumerate(plain) if "." not in c.split("=")[1].split(" ")[0]]
    assert whole  # a value shown without a dot: its amount (" +1.31") still has one
    for i, c in enumerate(plain):
        assert dotted[i] == ('"' + c + '"' if "." in c else c)
