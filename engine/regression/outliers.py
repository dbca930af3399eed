"""Outliers pinned from operations: rows an operator saw and wants every later regression run
(for this model and for every candidate of the same model id) to reproduce.

A pinned row keeps the whole input row as the operator's file had it (every column, as text, so
a later version that reads other columns replays it with them), the version it was pinned under,
and the output that version gave. It runs as an `outlier` case with the row's file and number as
its source; a publisher exports the list to fold into the next bundle's regression_cases.csv.

How a pinned row is judged depends on the version that replays it (`judged_as`): the version it
was pinned under must reproduce its numbers (the probabilities, or the value, within the case's
tolerance); any other version, and any version for a row pinned before versions were kept, is
held to the pinned decision: reject what was rejected, and give the pinned class (a classifier)
or the pinned value within the case's tolerance (a regressor).
"""

from __future__ import annotations

import json

from engine.errors import EngineError
from engine.formats.cases import inputs_of
from engine.formats.text_table import TextTable
from engine.ground.clock import current_user, now_text
from engine.model import Model

TOLERANCE = "1e-09"
# the regression_cases.csv columns a pinned row's own columns must not overwrite
RESERVED = ("expected", "tolerance", "kind", "note", "source", "label")


def pin_row(db, model_id: str, inputs: dict[str, str], note: str, source: str,
            model: Model, version: int | None = None, tolerance: str = TOLERANCE) -> int:
    """Pin one whole row (every column of the operator's file); its expected output is what
    `model` (version `version` of `model_id`) gives for it now."""
    row = {str(k): "" if v is None else str(v) for k, v in inputs.items()}
    missing = [n for n in model.feature_names if n not in row]
    if missing:
        raise EngineError(f"the row lacks the column(s) {', '.join(map(repr, missing))} that "
                          "the model needs; it cannot be pinned.", "E_MISSING_COLUMN")
    result = model.predict(inputs_of({n: [row[n]] for n in model.feature_names}, model))
    if result.rejected[0]:
        expected, probabilities = "rejected", {}
    else:
        expected = (repr(float(result.prediction[0])) if model.task == "regression"
                    else str(result.prediction[0]))
        probabilities = ({} if result.proba is None else
                         {str(c): repr(float(p)) for c, p in zip(model.classes, result.proba[0],
                                                                 strict=True)})
    with db:
        cur = db.execute(
            "INSERT INTO pinned_cases (model_id, inputs, expected, probabilities, note, source, "
            "pinned_at, user, version, tolerance) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (model_id, json.dumps(row), expected, json.dumps(probabilities), note, source,
             now_text(), current_user(), version, tolerance))
    return int(cur.lastrowid)


def list_pinned(db, model_id: str) -> list[dict]:
    rows = db.execute("SELECT * FROM pinned_cases WHERE model_id = ? ORDER BY id",
                      (model_id,)).fetchall()
    return [{**dict(r), "inputs": json.loads(r["inputs"]),
             "probabilities": json.loads(r["probabilities"])} for r in rows]


def judged_as(pinned: dict, version: int | None) -> str:
    """'probabilities' when `version` must reproduce the pinned numbers (it is the version the
    row was pinned under, or None: the rows as pinned, for an export), else 'decision'."""
    if version is None or (pinned.get("version") is not None
                           and int(pinned["version"]) == int(version)):
        return "probabilities"
    return "decision"


def _case(p: dict, model: Model, version: int | None) -> dict:
    own = {k: v for k, v in p["inputs"].items()
           if k not in RESERVED and not k.startswith("expected_proba_")}
    row = {**own, **{n: own.get(n, "") for n in model.feature_names}}
    note = p["note"]
    rule = judged_as(p, version)
    if rule == "decision" and version is not None:
        under = (f"pinned under v{p['version']}" if p.get("version") is not None
                 else "pinned under an earlier version")
        note = f"{note} ({under}; held to its decision)"
    row.update(expected=p["expected"], tolerance=p.get("tolerance") or TOLERANCE,
               kind="outlier", note=note, source=p["source"])
    if rule == "probabilities":
        for label, value in p["probabilities"].items():
            row[f"expected_proba_{label}"] = value
    return row


def pinned_csv(db, model_id: str, model: Model, version: int | None = None) -> bytes | None:
    """The pinned rows as regression cases (regression_cases.csv columns, with every column the
    rows were pinned with), or None, for `model`, version `version` of `model_id` (None: the
    rows as pinned, as an export for the publisher). Each row is judged as `judged_as` says."""
    pinned = list_pinned(db, model_id)
    if not pinned:
        return None
    return TextTable.from_records([_case(p, model, version) for p in pinned]).to_csv()
