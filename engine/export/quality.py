"""Publisher side: a starting point for the data-quality rules (quality_rules.json), from the
training sample, written by `ratchet export` beside the coefficients for the publisher to edit
before `ratchet bundle build --quality-rules`.

The margins (also recorded in the file's `generated` object):

- max_missing (severity alarm): the share missing in the sample plus 5 percentage points,
  rounded up to 0.1% (at most 100%). A feed that starts sending a column empty crosses it.
- range (severity warn), number columns: the sample's [min, max] widened by 10% of its span on
  each side (a constant column: by 10% of its value, at least 1).
- categories (severity warn), category columns: the categories seen in the sample.
- min_rows (severity warn): 100 rows, the fewest on which the drift tests mean much.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from engine.formats.quality_rules import QUALITY_RULES_FORMAT, check_quality_rules

MISSING_MARGIN = 0.05
RANGE_MARGIN = 0.10
MIN_ROWS = 100


def _round(value: float) -> float | int:
    """Six significant digits, as an int when whole (the file is for people to edit)."""
    value = float(f"{value:.6g}")
    return int(value) if value.is_integer() else value


def starting_rules(inputs: list[dict], sample: pd.DataFrame, sample_name: str) -> dict:
    """The quality_rules.json document for the model inputs `inputs` (the coefficient file's
    input schema) observed in `sample` (read with the missing-value markers as missing)."""
    rules: list[dict] = [{"rule": "min_rows", "min": MIN_ROWS, "severity": "warn"}]
    for feature in inputs:
        name = feature["name"]
        column = sample[name]
        missing = float(column.isna().mean())
        allowed = min(1.0, math.ceil(round((missing + MISSING_MARGIN) * 1000, 6)) / 1000)
        rules.append({"rule": "max_missing", "column": name, "max": allowed,
                      "severity": "alarm"})
        if feature["type"] == "number":
            values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64,
                                                                      na_value=np.nan)
            finite = values[np.isfinite(values)]
            if not finite.size:
                continue
            low, high = float(finite.min()), float(finite.max())
            margin = RANGE_MARGIN * (high - low) or max(abs(low) * RANGE_MARGIN, 1.0)
            rules.append({"rule": "range", "column": name, "min": _round(low - margin),
                          "max": _round(high + margin), "severity": "warn"})
        elif feature.get("categories"):
            rules.append({"rule": "categories", "column": name,
                          "allowed": list(feature["categories"]), "severity": "warn"})
    return {"format": QUALITY_RULES_FORMAT, "rules": rules,
           "generated": {"by": "ratchet export", "sample": sample_name,
                         "sample_rows": len(sample),
                         "margins": {"max_missing": "sample share + 5 points, rounded up",
                                     "range": "sample min/max widened by 10% of the span",
                                     "categories": "the categories in the sample",
                                     "min_rows": MIN_ROWS}}}


def rules_file(inputs: list[dict], sample: pd.DataFrame, sample_name: str) -> bytes:
    """`starting_rules` as the file's bytes, checked by the same validation a bundle gets."""
    data = (json.dumps(starting_rules(inputs, sample, sample_name), indent=1,
                       ensure_ascii=False) + "\n").encode()
    check_quality_rules(data)
    return data
