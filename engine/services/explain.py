"""Why one prediction: one row of an operator's file (its cells as written) explained exactly by
the model that scored it (engine.explain), in the operator's column names and values, for the
app's "Why?" panel (the Predict page's results, a regression case, a pinned outlier)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from engine.formats.cases import inputs_of
from engine.model import Model

SPACES = {"logistic": "log-odds", "half_logistic": "half log-odds",
          "logistic_float32": "log-odds", "softmax": "margin (before softmax)",
          "softmax_float32": "margin (before softmax)",
          "softmax_numpy_float32": "margin (before softmax)",
          "ovr_logistic": "log-odds (one class against the rest)",
          "ovr_sigmoid": "log-odds (one class against the rest)",
          "exp": "log of the value", "exp_float32": "log of the value",
          "identity": "value", "proba": "probability"}


@dataclass(frozen=True, slots=True)
class RowWhy:
    """base + sum of the contributions = score, in `space` (before the link)."""

    model: str  # the label it was explained with, e.g. demo-flight-delay@2
    explained: str  # what the score is of, e.g. "class 1" or "the value"
    space: str  # "log-odds", "value", ...
    base: float  # the model's average score on its training data
    score: float  # this row's score
    items: tuple[tuple[str, str, float], ...]  # (input, its value as written, contribution)
    decision: str  # the prediction in words, e.g. "1 (P(1) = 0.8123)"
    rejected: str | None = None  # why the row could not be scored (then no items)


def explain_row(model: Model, label: str, cells: Mapping[str, str]) -> RowWhy:
    """Explain one row given as its text cells (missing inputs read as missing). Raises
    engine.explain.ExplanationUnavailable when the model's coefficients cannot explain."""
    from engine.batch.explain_cells import explained_output
    from engine.explain import check_explainable, explain

    check_explainable(model)
    texts = {f.name: np.array([str(cells.get(f.name, ""))], dtype=object)
             for f in model.features}
    prediction = model.predict(texts)
    space = SPACES.get(model.link, "raw score")
    if prediction.rejected[0]:
        return RowWhy(label, "", space, float("nan"), float("nan"), (), "rejected",
                      prediction.errors.get(0, "the row was rejected"))
    # The cells read as the suite reads a case (engine.formats.cases.inputs_of): a missing-
    # value marker or an empty cell is a missing value.
    parsed = inputs_of(texts, model)
    result = explain(model, parsed)
    output = int(explained_output(model, prediction)[0])
    contributions = result.contributions[0, output, :]
    base = float(result.base[output])
    items = tuple((f.name, str(cells.get(f.name, "")), float(c))
                  for f, c in zip(model.features, contributions, strict=True))
    return RowWhy(label, _explained(model, output), space, base,
                  base + float(contributions.sum()), items, _decision(model, prediction))


def _explained(model: Model, output: int) -> str:
    if model.task == "regression":
        return "the value"
    if model.task == "binary":
        return f"class {model.classes[1]}"
    return f"class {model.classes[output]}"


def _decision(model: Model, prediction) -> str:
    value = prediction.prediction[0]
    if model.task == "regression" or prediction.proba is None:
        return f"{float(value):.6g}"
    index = int(prediction.class_index[0])
    return f"{value} (P({model.classes[index]}) = {float(prediction.proba[0, index]):.4f})"
