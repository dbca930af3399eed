"""Performance requirements (`requirements.json`, ratchet-requirements/1), minimal reading.

Here only the shape is checked so that a bundle cannot carry a malformed file; evaluating the
requirements is the regression suite's job.
"""

from __future__ import annotations

import math

from engine.bundle.canonical import NotCanonical, parse_strict
from engine.errors import EngineError

REQUIREMENTS_FORMAT = "ratchet-requirements/1"
METRICS = ("accuracy", "precision", "recall", "f1", "false_positive_rate", "roc_auc",
           "log_loss", "brier", "mae", "rmse", "r2", "mape")


def _invalid(why: str) -> EngineError:
    return EngineError(f"requirements.json: {why}", "E_REQUIREMENTS_INVALID")


def check_requirements(data: bytes) -> dict:
    try:
        doc = parse_strict(data)
    except NotCanonical as exc:
        raise _invalid(f"{exc}.") from None
    if not isinstance(doc, dict) or doc.get("format") != REQUIREMENTS_FORMAT:
        raise _invalid(f"format must be {REQUIREMENTS_FORMAT!r}.")
    metrics = doc.get("metrics")
    if not isinstance(metrics, list):
        raise _invalid("metrics must be a list.")
    for i, m in enumerate(metrics):
        if not isinstance(m, dict) or m.get("metric") not in METRICS:
            raise _invalid(f"metrics[{i}].metric must be one of {', '.join(METRICS)}.")
        for bound in ("min", "max"):
            v = m.get(bound)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)
                                  or not math.isfinite(v)):
                raise _invalid(f"metrics[{i}].{bound} must be a number.")
        if m.get("min") is None and m.get("max") is None:
            raise _invalid(f"metrics[{i}] needs a min or a max.")
    return doc
