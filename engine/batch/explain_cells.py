"""Explanation columns of a batch output: `why_1 … why_K` ("dep_delay=45 +1.31": an input, its
value, and how much it moved the raw score, strongest first) or one `contrib_<column>` per
input. Raw space (engine.explain). Which raw score: the only one; a binary model's score for
its second class; a multiclass model's score for the class it predicted. Rejected rows get
empty cells."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from engine.batch.chunk_io import csv_field
from engine.model import Model, Prediction
from engine.model.categories import CATEGORY

# The characters of a cell after its "name=" when the value is a number (or "missing"): only a
# delimiter among them, or a category's text, can need quotes there.
NUMBER_TEXT = set(" 0123456789.eE+-infamsg")


@dataclass(frozen=True, slots=True)
class ExplainRequest:
    top: int = 0  # why_1 … why_top
    every: bool = False  # contrib_<column> for every input

    def __bool__(self) -> bool:
        return self.top > 0 or self.every

    def names(self, model: Model) -> list[str]:
        if self.every:
            return [f"contrib_{n}" for n in model.feature_names]
        return [f"why_{k + 1}" for k in range(self.top)]

    def provenance(self) -> dict | None:
        """What the provenance records: None when no explanations were written."""
        if not self:
            return None
        return {"columns": "contrib_<input>" if self.every else f"why_1..why_{self.top}",
                "space": "raw score (before the link)", "method": "exact (TreeSHAP / linear)"}

    def check(self, model: Model) -> None:
        """Refuse before any output is written when the model cannot be explained."""
        if self:
            from engine.explain import check_explainable  # numba: only when explaining

            check_explainable(model)


def explained_output(model: Model, prediction: Prediction) -> np.ndarray:
    """Per row, which raw output is explained (see the module docstring)."""
    n = len(prediction.rejected)
    width = model.estimator.n_outputs
    if width == 1:
        return np.zeros(n, dtype=np.intp)
    if model.task == "binary":
        return np.ones(n, dtype=np.intp)
    return np.where(prediction.rejected, 0, prediction.class_index).astype(np.intp)


def explanation_cells(request: ExplainRequest, model: Model, columns: dict,
                      prediction: Prediction, delimiter: str) -> list[pa.Array]:
    """The chunk's explanation columns, CSV-ready text."""
    import pyarrow.compute as pc  # here: a prediction without explanations does not load it

    from engine.explain import explain

    bad = prediction.rejected
    n = len(bad)
    contrib = explain(model, columns).contributions
    chosen = contrib[np.arange(n), explained_output(model, prediction), :]
    if request.every:
        return [pc.fill_null(pc.cast(pa.array(chosen[:, j], mask=bad), pa.string()), "")
                for j in range(chosen.shape[1])]
    names = model.feature_names
    top = min(request.top, len(names))
    order = np.argsort(-np.abs(chosen), axis=1, kind="stable")[:, :top]
    labels = pa.array([f"{n}=" for n in names], type=pa.string())
    label_quoted = np.array([csv_field(f"{n}=", delimiter) != f"{n}=" for n in names])
    cats = [j for j, f in enumerate(model.features) if f.type == CATEGORY]
    numbers = np.column_stack([np.full(n, np.nan) if f.type == CATEGORY
                               else np.asarray(columns[f.name], dtype=np.float64)
                               for f in model.features])
    rows = np.arange(n)
    blank = pa.array(bad)
    out = []
    for k in range(request.top):
        if k >= top:
            out.append(pa.array(np.full(n, "", dtype=object), type=pa.string()))
            continue
        j = order[:, k]
        shown = _shown(numbers[rows, j])
        texts = False
        if any((j == c).any() for c in cats):  # rows whose k-th input is a category: its text
            texts = True
            text = np.asarray(shown.to_numpy(zero_copy_only=False), dtype=object)
            for c in cats:
                at = np.flatnonzero(j == c)
                text[at] = _shown_categories(np.asarray(columns[names[c]])[at])
            shown = pa.array(text, type=pa.string())
        amount = pa.array(_amounts(chosen[rows, j]), type=pa.string())
        cells = pc.if_else(blank, "", pc.binary_join_element_wise(
            pc.take(labels, pa.array(j)), shown, amount, ""))
        need = label_quoted[j]
        if texts or delimiter in NUMBER_TEXT:
            need = need | _needs_quotes(cells, delimiter)
        quote = np.flatnonzero(need & ~bad)
        if len(quote):  # rare: a delimiter or quote in a name or a category
            text = np.asarray(cells.to_numpy(zero_copy_only=False), dtype=object)
            for row in quote:
                text[row] = csv_field(text[row], delimiter)
            cells = pa.array(text, type=pa.string())
        out.append(cells)
    return out


def _amounts(values: np.ndarray) -> list[str]:
    """" +1.31" / " -0.0042": three significant digits with a sign (one formatting call)."""
    if not len(values):
        return []
    return (("\0 %+.3g" * len(values)) % tuple(values.tolist())).split("\0")[1:]


def _shown(numbers: np.ndarray) -> pa.Array:
    """Numbers as text in their shortest form ("45", "0.1"), a missing one as "missing"."""
    import pyarrow.compute as pc

    return pc.if_else(pa.array(np.isnan(numbers)), "missing",
                      pc.cast(pa.array(numbers), pa.string()))


def _shown_categories(values: np.ndarray) -> np.ndarray:
    return np.array(["missing" if v is None or (isinstance(v, float) and v != v) else str(v)
                     for v in values.tolist()], dtype=object)


def _needs_quotes(arr: pa.Array, delimiter: str) -> np.ndarray:
    import pyarrow.compute as pc

    need = pc.match_substring(arr, delimiter)
    for ch in ('"', "\n", "\r"):
        need = pc.or_(need, pc.match_substring(arr, ch))
    return need.to_numpy(zero_copy_only=False)
