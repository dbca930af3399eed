"""Publisher side: fitted scikit-learn transformers -> preprocessing steps of the coefficient file.

Encoders are exported by asking the fitted encoder itself: every known category, an unseen
value and a missing value are pushed through `transform`, and the file records where each one
lands. That captures drop=, infrequent categories and handle_unknown exactly as scikit-learn
applies them, without re-implementing its bookkeeping.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.errors import UnsupportedModel
from engine.export.encode import floats
from engine.export.estimators import SUPPORTED_ESTIMATORS
from engine.model.categories import CATEGORY, NUMBER

SUPPORTED_STEPS = ("Pipeline, ColumnTransformer (with passthrough / drop), StandardScaler, "
                   "MinMaxScaler, SimpleImputer, OneHotEncoder, OrdinalEncoder")
UNSEEN = "\u2400ratchet-unseen-value\u2400"


def _unsupported(obj, why: str = "") -> UnsupportedModel:
    reason = f" ({why})" if why else ""
    return UnsupportedModel(
        f"the preprocessing step {type(obj).__name__}{reason} cannot be exported. "
        f"Supported steps: {SUPPORTED_STEPS}; supported estimators after them: "
        f"{SUPPORTED_ESTIMATORS}.", code="E_UNSUPPORTED_MODEL")


def _is_missing(v) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def export_transformer(obj, kinds: list[str]) -> tuple[list[dict], list[str]]:
    """Steps for one fitted transformer fed by columns of `kinds`, and the output kinds."""
    if obj == "passthrough" or obj is None:
        return [], kinds
    name = type(obj).__name__
    handler = _HANDLERS.get(name)
    if handler is None:
        raise _unsupported(obj)
    return handler(obj, kinds)


def _pipeline(obj, kinds):
    steps = []
    for _, step in obj.steps:
        new, kinds = export_transformer(step, kinds)
        steps.extend(new)
    return steps, kinds


def _column_transformer(obj, kinds):
    indices = obj._transformer_to_input_indices
    blocks, out_kinds = [], []
    for name, trans, _ in obj.transformers_:
        cols = [int(i) for i in indices.get(name, [])]
        if trans == "drop" or not cols:
            continue
        steps, sub_kinds = export_transformer(trans, [kinds[j] for j in cols])
        blocks.append({"name": str(name), "columns": cols, "steps": steps})
        out_kinds.extend(sub_kinds)
    return [{"op": "column_transformer", "blocks": blocks}], out_kinds


def _function_transformer(obj, kinds):
    """Only the identity (what ColumnTransformer makes of "passthrough") can be exported."""
    if obj.func is not None:
        raise _unsupported(obj, "a custom function")
    return [], kinds


def _need_numbers(obj, kinds):
    if CATEGORY in kinds:
        raise _unsupported(obj, "it receives text columns")


def _standard_scaler(obj, kinds):
    _need_numbers(obj, kinds)
    step = {"op": "standard_scale",
            # mean_ is computed even when with_mean=False; only the flags say what is applied.
            "mean": floats(obj.mean_) if obj.with_mean else None,
            "scale": floats(obj.scale_) if obj.with_std else None}
    return [step], kinds


def _min_max_scaler(obj, kinds):
    _need_numbers(obj, kinds)
    clip = [float(v) for v in obj.feature_range] if obj.clip else None
    return [{"op": "min_max_scale", "scale": floats(obj.scale_), "offset": floats(obj.min_),
             "clip": clip}], kinds


def _simple_imputer(obj, kinds):
    if obj.add_indicator:
        raise _unsupported(obj, "add_indicator=True")
    mv = obj.missing_values
    if not _is_missing(mv) and not isinstance(mv, int | float | str):
        raise _unsupported(obj, f"missing_values={mv!r}")
    fill, keep = [], []
    for j, stat in enumerate(obj.statistics_):
        stat = stat.item() if isinstance(stat, np.generic) else stat
        if _is_missing(stat) and not obj.keep_empty_features:
            fill.append(None)  # scikit-learn drops a column it saw no value for
            continue
        keep.append(j)
        fill.append(float(stat) if kinds[j] == NUMBER else str(stat))
    step = {"op": "impute", "fill": fill, "missing_value": None if _is_missing(mv) else mv}
    steps = [step]
    if len(keep) != len(kinds):
        steps.append({"op": "select", "columns": keep})
    return steps, [kinds[j] for j in keep]


def _categories(obj, j: int, kind: str) -> list:
    cats = [c.item() if isinstance(c, np.generic) else c for c in obj.categories_[j]]
    cats = [c for c in cats if not _is_missing(c)]
    if kind == NUMBER:
        if not all(isinstance(c, int | float) and not isinstance(c, bool) for c in cats):
            raise _unsupported(obj, f"column {j} mixes numbers and text categories")
        return [float(c) for c in cats]
    return [str(c) for c in cats]


def _probe_frame(obj, kinds: list[str], base: list, j: int, values: list) -> object:
    cols = {}
    for i, kind in enumerate(kinds):
        column = [values[r] if i == j else base[i] for r in range(len(values))]
        cols[i] = pd.Series(column, dtype=np.float64 if kind == NUMBER else object)
    frame = pd.DataFrame(cols)
    if hasattr(obj, "feature_names_in_"):
        frame.columns = list(obj.feature_names_in_)
        return frame
    return frame.to_numpy()


def _transform(obj, kinds, base, j, values):
    """Transform probe rows; None when the encoder refuses them (handle_unknown='error')."""
    try:
        out = obj.transform(_probe_frame(obj, kinds, base, j, values))
    except ValueError:
        return None
    return out.toarray() if hasattr(out, "toarray") else np.asarray(out)


def _unseen(cats: list, kind: str):
    return (max(cats) + 1.0 if cats else 0.0) if kind == NUMBER else UNSEEN


def _probe_base(obj, kinds):
    """A row of known categories (the first of each column), to vary one column at a time."""
    base = []
    for j, kind in enumerate(kinds):
        cats = _categories(obj, j, kind)
        base.append(cats[0] if cats else np.nan)
    return base


def _spot(block: np.ndarray) -> int:
    """The position of the 1 in a one-hot block, or -1 for an all-zero block."""
    return int(np.argmax(block)) if block.any() else -1


def _one_hot(obj, kinds):
    widths = obj._compute_n_features_outs()
    offsets = np.concatenate([[0], np.cumsum(widths)])
    base = _probe_base(obj, kinds)
    encoders = []
    for j, kind in enumerate(kinds):
        cats = _categories(obj, j, kind)
        lo, hi = offsets[j], offsets[j + 1]
        known = _transform(obj, kinds, base, j, cats) if cats else np.zeros((0, hi))
        if known is None:
            raise _unsupported(obj, f"it refuses its own categories in column {j}")
        spots = [_spot(row[lo:hi]) for row in known]
        policy = []
        for probe in (_unseen(cats, kind), np.nan):
            row = _transform(obj, kinds, base, j, [probe])
            policy.append("error" if row is None else _spot(row[0, lo:hi]))
        policy = ["ignore" if p == -1 else p for p in policy]
        encoders.append({"categories": cats, "columns": spots,
                         "width": int(hi - lo), "unknown": policy[0], "missing": policy[1]})
    return [{"op": "one_hot", "encoders": encoders}], [NUMBER] * int(offsets[-1])


def _code(value) -> float | None:
    return None if np.isnan(value) else float(value)


def _ordinal(obj, kinds):
    base = _probe_base(obj, kinds)
    encoders = []
    for j, kind in enumerate(kinds):
        cats = _categories(obj, j, kind)
        known = _transform(obj, kinds, base, j, cats) if cats else np.zeros((0, len(kinds)))
        if known is None:
            raise _unsupported(obj, f"it refuses its own categories in column {j}")
        codes = [_code(v) for v in known[:, j]]
        for probe in (_unseen(cats, kind), np.nan):
            row = _transform(obj, kinds, base, j, [probe])
            codes.append("error" if row is None else _code(row[0, j]))
        encoders.append({"categories": cats, "codes": codes[: len(cats)],
                         "unknown": codes[-2], "missing": codes[-1]})
    return [{"op": "ordinal", "encoders": encoders}], [NUMBER] * len(kinds)


_HANDLERS = {
    "Pipeline": _pipeline,
    "FunctionTransformer": _function_transformer,
    "ColumnTransformer": _column_transformer,
    "StandardScaler": _standard_scaler,
    "MinMaxScaler": _min_max_scaler,
    "SimpleImputer": _simple_imputer,
    "OneHotEncoder": _one_hot,
    "OrdinalEncoder": _ordinal,
}
