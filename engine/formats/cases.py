"""Regression cases (`regression_cases.csv`): rows with the outputs the model must reproduce.

Columns: the model's input columns; `expected` (the prediction: a number for regression, a class
label for classifiers, or `rejected` for a row the model must refuse); optional
`expected_proba_<class>`; `tolerance` (absolute); `kind` (golden, contrived or outlier); `note`;
`source` (where an outlier came from). Rows of kind `reference` are not cases: they are the
labelled reference sample (true outcome in the `label` column) on which the minimum
requirements are enforced.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from engine.errors import EngineError
from engine.formats.numbers import shown, shown_pair
from engine.formats.text_table import TextTable, TextTableError
from engine.model import Model
from engine.model.categories import NUMBER
from engine.model.markers import object_markers

CASE_KINDS = ("golden", "contrived", "outlier")
KINDS = (*CASE_KINDS, "reference")


@dataclass(frozen=True, slots=True)
class CaseResult:
    row: int  # 1-based data row in the CSV
    kind: str
    note: str
    passed: bool
    detail: str
    source: str = ""
    # The case's model inputs as written (for the app's "Why?" panel and the report).
    inputs: dict[str, str] = field(default_factory=dict)


def _invalid(why: str) -> EngineError:
    return EngineError(f"regression_cases.csv: {why}", "E_CASES_INVALID")


def read_cases(data: bytes, model: Model) -> TextTable:
    try:
        frame = TextTable.read(data)
    except TextTableError as exc:
        raise _invalid(f"cannot be read as CSV: {exc}") from None
    missing = [c for c in [*model.feature_names, "expected", "tolerance", "kind"]
               if c not in frame]
    if missing:
        raise _invalid(f"the column(s) {', '.join(missing)} are missing.")
    bad_kind = ~np.isin(frame["kind"], KINDS)
    if bad_kind.any():
        row = int(np.flatnonzero(bad_kind)[0])
        raise _invalid(f"row {row + 1}: kind {frame['kind'][row]!r} is not one of "
                       f"{', '.join(KINDS)}.")
    if (frame["kind"] == "reference").any() and "label" not in frame:
        raise _invalid("reference rows need a 'label' column with the true outcome.")
    return frame


def reference_rows(frame: TextTable) -> TextTable:
    return frame[frame["kind"] == "reference"]


def reference_inputs(cases: bytes | None, model: Model
                     ) -> tuple[TextTable, dict[str, np.ndarray]] | None:
    """A cases file's labelled reference rows and their model inputs (as inputs_of reads
    them); None without a file or without reference rows."""
    if cases is None:
        return None
    ref = reference_rows(read_cases(cases, model))
    return None if ref.empty else (ref, inputs_of(ref, model))


def inputs_of(frame: Mapping, model: Model) -> dict[str, np.ndarray]:
    """The model's input columns of a text table (a TextTable, or any mapping of column
    names to cells, such as a DataFrame of str); empty text, or one of the model's
    missing-value markers (a number's compared without surrounding spaces), is a missing
    value (None)."""
    table = {}
    for f in model.features:
        text = np.asarray(frame[f.name], dtype=object)
        compared = np.array([t.strip() for t in text], dtype=object) if f.type == NUMBER \
            else text
        marked = object_markers(compared, model.missing_markers) | (text == "")
        table[f.name] = np.where(marked, None, text).astype(object)
    return table


def _plain(value):
    """numpy scalars as the Python values people read (no 'np.int64(1)')."""
    return value.item() if isinstance(value, np.generic) else value


def _compared(actual: float, expected: str) -> tuple[str, str]:
    """The value found and the one expected (as written, if it is not a number), each to the
    precision that tells them apart."""
    try:
        return shown_pair(actual, float(expected))
    except ValueError:
        return shown(actual), repr(expected)


def _close(actual: float, expected: str, tol: float) -> bool:
    try:
        return math.isfinite(actual) and abs(actual - float(expected)) <= tol
    except ValueError:
        return False


def run_cases(data: bytes, model: Model) -> list[CaseResult]:
    """Score every case and compare it with its expected outputs."""
    return check_cases(read_cases(data, model), model)


def check_cases(frame: TextTable, model: Model) -> list[CaseResult]:
    """Score the case rows of an already read cases table (reference rows are skipped)."""
    frame = frame[frame["kind"] != "reference"]
    if frame.empty:
        return []
    result = model.predict(inputs_of(frame, model))
    proba_cols = {c[len("expected_proba_"):]: c for c in frame.columns
                  if c.startswith("expected_proba_")}
    out = []
    for i in range(len(frame)):
        case = frame.record(i)
        try:
            tol = float(case["tolerance"])
        except ValueError:
            raise _invalid(f"row {int(frame.rows[i]) + 1}: tolerance {case['tolerance']!r} is "
                           "not a number."
                           ) from None
        problems = []
        if case["expected"] == "rejected":
            if not result.rejected[i]:
                problems.append("expected the model to reject this row, but it scored it")
        elif result.rejected[i]:
            problems.append(f"rejected: {result.errors.get(i)}")
        elif model.task == "regression":
            if not _close(float(result.prediction[i]), case["expected"], tol):
                got, want = _compared(float(result.prediction[i]), case["expected"])
                problems.append(f"predicted {got}, expected {want} ± {tol:g}")
        else:
            if str(result.prediction[i]) != case["expected"]:
                problems.append(f"predicted class {_plain(result.prediction[i])!r}, expected "
                                f"{case['expected']!r}")
            for k, label in enumerate(model.classes):
                col = proba_cols.get(str(label))
                if col and case[col] != "" and not _close(float(result.proba[i, k]), case[col],
                                                          tol):
                    got, want = _compared(float(result.proba[i, k]), case[col])
                    problems.append(f"P({label}) = {got}, expected {want} ± {tol:g}")
        out.append(CaseResult(int(frame.rows[i]) + 1, case["kind"], case.get("note", ""),
                              not problems, "; ".join(problems) or "ok",
                              case.get("source", ""),
                              {f.name: str(case[f.name]) for f in model.features}))
    return out
