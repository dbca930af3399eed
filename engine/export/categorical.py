"""Publisher side: the categorical features of an XGBoost or LightGBM model.

Both libraries split on a category's integer code. A pandas categorical column is fed as its
code in the categories the model was trained with; the operator's CSV carries the category
itself (text, or a number), so the exported file maps it with an `ordinal` step (category ->
code; a missing category -> NaN; an unseen one -> NaN for LightGBM, which reads it so, or a
rejected row for XGBoost, which refuses it). A categorical feature trained on plain numbers
(LightGBM's `categorical_feature` on an integer column, an XGBoost model without its
categories) takes the number as the code and needs no step.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.errors import UnsupportedModel
from engine.model.categories import CATEGORY, NUMBER


def _as_kind(categories: list, kind: str, name: str) -> list:
    if kind == CATEGORY:
        return [str(c) for c in categories]
    try:
        values = [float(c) for c in categories]
    except (TypeError, ValueError):
        raise UnsupportedModel(f"the model's categories of {name!r} are text, but the sample's "
                               "column holds numbers", "E_UNSUPPORTED_MODEL") from None
    if not all(np.isfinite(values)):
        raise UnsupportedModel(f"the model's categories of {name!r} include a non-finite "
                               "number", "E_UNSUPPORTED_MODEL")
    return values


def category_steps(categorical: list, inputs: list[dict], unknown: str | None
                   ) -> tuple[list, list[str]]:
    """The steps that turn each categorical input with known categories into its code; the
    kinds of the columns after them. `unknown`: "error" (reject the row) or None (NaN)."""
    kinds = [f["type"] for f in inputs]
    coded = [(f, cats) for f, cats in categorical if cats is not None]
    if not coded:
        return [], kinds
    cols = [f for f, _ in coded]
    rest = [j for j in range(len(kinds)) if j not in cols]
    encoders = []
    for f, cats in coded:
        values = _as_kind(cats, kinds[f], inputs[f]["name"])
        if len(set(values)) != len(values):
            raise UnsupportedModel(f"the model's categories of {inputs[f]['name']!r} are not "
                                   "distinct as the CSV reads them", "E_UNSUPPORTED_MODEL")
        encoders.append({"categories": values, "codes": [float(i) for i in range(len(cats))],
                         "unknown": unknown, "missing": None})
    blocks = [{"name": "categories", "columns": cols,
               "steps": [{"op": "ordinal", "encoders": encoders}]}]
    if rest:
        blocks.append({"name": "numbers", "columns": rest, "steps": []})
    order = cols + rest  # where each input landed; put them back in the model's order
    back = [order.index(j) for j in range(len(kinds))]
    steps = [{"op": "column_transformer", "blocks": blocks}]
    if back != list(range(len(kinds))):
        steps.append({"op": "select", "columns": back})
    return steps, [NUMBER] * len(kinds)


def library_view(categorical: list, names: list[str]):
    """frame (as the CSV reads it) -> the frame the library was trained on: pandas
    categoricals with the training categories (a value outside them becomes missing)."""
    coded = [(names[f], cats) for f, cats in categorical if cats is not None]

    def view(frame: pd.DataFrame) -> pd.DataFrame:
        if not coded:
            return frame
        frame = frame.copy()
        for name, cats in coded:
            col = frame[name]
            if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
                kind = pd.Index(cats).dtype
                whole = col.dropna()
                if kind.kind in "iu" and (whole == np.round(whole)).all():
                    col = col.astype("Int64")
            else:
                col = col.astype(object).where(col.notna(), None)
                col = col.map(lambda v: v if v is None else str(v))
                cats = [str(c) for c in cats]
            frame[name] = pd.Categorical(col, categories=cats)
        return frame

    return view
