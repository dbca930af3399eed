"""A candidate's regression_cases.csv: golden and contrived cases with the refitted
scikit-learn model's own outputs, and a labelled reference sample; all from the held-out
window, which the model never saw.

Golden rows are real held-out rows. Contrived rows push the model where operations will: every
input missing, a number far beyond the training range, a missing number, a category never seen
in training. Their expected outputs are scikit-learn's, except where our input schema refuses
the row (a missing value where the model takes none): then the case says `rejected`.
"""

from __future__ import annotations

import csv
import io
import warnings

import numpy as np
import pandas as pd

from engine.errors import InputError
from engine.model import Model

GOLDEN_ROWS = 25
TOLERANCE = "1e-09"
UNSEEN_CATEGORY = "ratchet-unseen-category"
CASE_COLUMNS = ("expected", "tolerance", "kind", "note", "source", "label")


def check_feature_names(features: list[str]) -> None:
    """A feature cannot share a name with a column of regression_cases.csv."""
    clash = [f for f in features if f in CASE_COLUMNS or f.startswith("expected_proba_")]
    if clash:
        raise InputError(f"the feature column(s) {', '.join(map(repr, clash))} have the name of a "
                         f"regression_cases.csv column ({', '.join(CASE_COLUMNS)}, "
                         "expected_proba_*); rename them in the training file or leave them out "
                         "with --features.", "E_FEATURE_NAME")


def _text(value) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return "" if np.isnan(value) else repr(value)
    if value is None or value is pd.NA:
        return ""
    return str(value)


def contrived_rows(base: pd.Series, train: pd.DataFrame, numeric, categorical
                   ) -> list[tuple[pd.Series, str]]:
    rows = []
    blank = base.copy().astype(object)
    blank[:] = np.nan
    rows.append((blank, "every input missing"))
    if numeric:
        name = numeric[0]
        values = pd.to_numeric(train[name], errors="coerce")
        lo, hi = float(values.min()), float(values.max())
        far = base.copy().astype(object)
        far[name] = hi + 10.0 * max(hi - lo, 1.0)
        rows.append((far, f"{name} far above its training range"))
        gap = base.copy().astype(object)
        gap[name] = np.nan
        rows.append((gap, f"{name} missing"))
    if categorical:
        name = categorical[0]
        new = base.copy().astype(object)
        new[name] = UNSEEN_CATEGORY
        rows.append((new, f"{name}: a category never seen in training"))
    return rows


def _as_frame(rows: list[pd.Series], like: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=like.columns).reset_index(drop=True)
    for name in like.columns:
        if pd.api.types.is_numeric_dtype(like[name]):
            frame[name] = pd.to_numeric(frame[name]).astype(np.float64)
        else:
            frame[name] = frame[name].astype(object)
    return frame


def _expected(fitted, ours: Model, rows: pd.DataFrame, classes) -> list[list[str]]:
    """Per row: expected, expected_proba_<class>... (scikit-learn's outputs, or `rejected`)."""
    refused = ours.predict(rows).rejected
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        labels = fitted.predict(rows)
        proba = fitted.predict_proba(rows) if classes is not None else None
    out = []
    for i in range(len(rows)):
        width = 0 if classes is None else len(classes)
        if refused[i]:
            out.append(["rejected", *[""] * width])
        elif classes is None:
            out.append([repr(float(labels[i]))])
        else:
            out.append([_text(labels[i]), *[repr(float(p)) for p in proba[i]]])
    return out


def case_table(fitted, ours: Model, train: pd.DataFrame, held: pd.DataFrame,
               numeric: list[str], categorical: list[str], target: str, classes,
               reference_rows: int, seed: int, source: str) -> bytes:
    """The regression_cases.csv bytes; `held` is the held-out window (features + target)."""
    features = [*numeric, *categorical]
    golden = held.sample(min(GOLDEN_ROWS, len(held)), random_state=seed).sort_index()[features]
    made = contrived_rows(golden.iloc[0], train, numeric, categorical)
    contrived = _as_frame([r for r, _ in made], golden)
    header = [*features, "expected"]
    header += [f"expected_proba_{c}" for c in classes] if classes is not None else []
    header += ["tolerance", "kind", "note", "source", "label"]
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(header)
    for frame, kind, notes in ((golden, "golden", [""] * len(golden)),
                               (contrived, "contrived", [n for _, n in made])):
        for i, expected in enumerate(_expected(fitted, ours, frame, classes)):
            out.writerow([_text(frame.iloc[i][c]) for c in features] + expected
                         + [TOLERANCE, kind, notes[i], source, ""])
    reference = held.sample(min(reference_rows, len(held)), random_state=seed + 1).sort_index()
    blanks = [""] * (len(header) - len(features) - 5)
    for i in range(len(reference)):
        row = reference.iloc[i]
        out.writerow([_text(row[c]) for c in features] + blanks
                     + ["", "reference", "", source, _text(row[target])])
    return buf.getvalue().encode("utf-8")
