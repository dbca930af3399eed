"""Outliers pinned from operations: rows an operator saw and wants every later regression run
(for this model and for every candidate of the same model id) to reproduce.

A pinned row stores the input fields as the operator's file had them and the output the model
gave at the time; it runs as an `outlier` case with the row's file and number as its source,
and a publisher exports the list to fold into the next bundle's regression_cases.csv.
"""

from __future__ import annotations

import io
import json

import pandas as pd

from engine.errors import EngineError
from engine.formats.cases import inputs_of
from engine.ground.clock import current_user, now_text
from engine.model import Model

TOLERANCE = "1e-09"


def pin_row(db, model_id: str, inputs: dict[str, str], note: str, source: str,
            model: Model) -> int:
    """Pin one row; its expected output is what `model` gives for it now."""
    missing = [n for n in model.feature_names if n not in inputs]
    if missing:
        raise EngineError(f"the row lacks the column(s) {', '.join(map(repr, missing))} that "
                          "the model needs; it cannot be pinned.", "E_MISSING_COLUMN")
    frame = pd.DataFrame([{n: str(inputs[n]) for n in model.feature_names}], dtype=str)
    result = model.predict(inputs_of(frame, model))
    if result.rejected[0]:
        expected, probabilities = "rejected", {}
    else:
        expected = str(result.prediction[0])
        probabilities = ({} if result.proba is None else
                         {str(c): repr(float(p)) for c, p in zip(model.classes, result.proba[0],
                                                                 strict=True)})
    with db:
        cur = db.execute(
            "INSERT INTO pinned_cases (model_id, inputs, expected, probabilities, note, source, "
            "pinned_at, user) VALUES (?,?,?,?,?,?,?,?)",
            (model_id, json.dumps({n: str(inputs[n]) for n in model.feature_names}), expected,
             json.dumps(probabilities), note, source, now_text(), current_user()))
    return int(cur.lastrowid)


def list_pinned(db, model_id: str) -> list[dict]:
    rows = db.execute("SELECT * FROM pinned_cases WHERE model_id = ? ORDER BY id",
                      (model_id,)).fetchall()
    return [{**dict(r), "inputs": json.loads(r["inputs"]),
             "probabilities": json.loads(r["probabilities"])} for r in rows]


def pinned_csv(db, model_id: str, model: Model, decisions_only: bool = False) -> bytes | None:
    """The pinned rows as regression cases (regression_cases.csv columns), or None.

    `decisions_only` is for a candidate (another model than the one whose outputs were pinned):
    it must make the same decisions on the pinned rows (reject what was rejected, score what
    was scored, and give a classifier's pinned class), not reproduce the old model's numbers."""
    pinned = list_pinned(db, model_id)
    if not pinned:
        return None
    records = []
    for p in pinned:
        row = {n: p["inputs"].get(n, "") for n in model.feature_names}
        tolerance = "inf" if decisions_only else TOLERANCE
        row.update(expected=p["expected"], tolerance=tolerance, kind="outlier",
                   note=p["note"], source=p["source"])
        for label, value in ({} if decisions_only else p["probabilities"]).items():
            row[f"expected_proba_{label}"] = value
        records.append(row)
    buf = io.StringIO()
    pd.DataFrame(records).fillna("").to_csv(buf, index=False)
    return buf.getvalue().encode("utf-8")
