"""Reading the file a now-test is about, with the batch reader that `ratchet predict` uses (so a
bad file gets the same message), and scoring it chunk by chunk.

What is kept is what the now-test needs and no more: the number columns (8 bytes a row each),
category counts (not the text), the model's outputs and the true outcomes as class indices or
numbers. Rows that cannot be parsed (wrong number of fields, blank, text in a number column)
are rejected and left out of every statistic; rows the model refuses for a value (e.g. missing
where it needs one) still count in drift and out-of-range, which are about the data, not the
model.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.batch.scan import ChunkObserver, CsvScan
from engine.errors import InputError
from engine.model import Model
from engine.model.categories import CATEGORY, NUMBER
from engine.model.model import Feature
from engine.model.rows import parse_numbers
from engine.nowtest.drift import MISSING, OTHER, category_counts
from engine.progress import CancelToken, Progress, no_progress


@dataclass(frozen=True, slots=True)
class CurrentSample:
    path: Path
    sha256: str
    rows: int  # data rows in the file
    parsed: np.ndarray  # per row: parsed (not a malformed row)
    numbers: dict[str, np.ndarray]  # number columns, NaN = missing (all rows)
    categories: dict[str, Counter]  # per category column, counts of the parsed rows
    unknown: dict[str, tuple[int, str]]  # category column -> (rows with an unknown value, one)
    rejected: np.ndarray  # per row: the model refused it
    prediction: np.ndarray
    proba: np.ndarray | None
    class_index: np.ndarray | None
    has_label_column: bool
    labels: np.ndarray | None  # class index (-1: none) or value (NaN: none); None: no column
    first_error: str | None = None  # "row N: reason" of the first refused row


def label_values(text: np.ndarray, model: Model, path: Path, target: str, first_row: int
                  ) -> np.ndarray:
    """True outcomes of one chunk: class indices (-1 where empty) or numbers (NaN)."""
    empty = np.asarray(text == None, dtype=bool)  # noqa: E711 - elementwise
    if model.task == "regression":
        values, bad = parse_numbers(text)
        bad |= ~empty & ~np.isfinite(values)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(f"{path}: row {first_row + row + 1}: the label column {target!r} "
                             f"holds {text[row]!r}, which is not a finite number. Fix it, or "
                             "leave it empty for a row without a known outcome.", "E_BAD_LABEL")
        return values
    by_text = {str(c): i for i, c in enumerate(model.classes)}
    numeric = {float(c): i for i, c in enumerate(model.classes)
               if isinstance(c, int | float) and not isinstance(c, bool)}
    out = np.full(text.size, -1, dtype=np.int64)
    for value in set(text[~empty].tolist()):
        index = by_text.get(value)
        if index is None:  # "1.0" for class 1: how a column with gaps is often written
            try:
                index = numeric.get(float(value))
            except ValueError:
                index = None
        if index is None:
            row = int(np.flatnonzero(text == value)[0])
            classes = ", ".join(map(str, model.classes))
            raise InputError(f"{path}: row {first_row + row + 1}: the label column {target!r} "
                             f"holds {value!r}, which is not one of the model's classes "
                             f"({classes}). Fix it, or leave it empty for a row without a "
                             "known outcome.", "E_BAD_LABEL")
        out[text == value] = index
    return out


def no_rows(path: Path) -> InputError:
    return InputError(f"{path}: the file has a header but no data rows.", "E_NO_ROWS")


def read_current(path: Path, model: Model, known: dict[str, set[str]] | None = None,
                 progress: Progress = no_progress, cancel: CancelToken | None = None,
                 chunk_bytes: int = 8 << 20, alongside: ChunkObserver | None = None
                 ) -> CurrentSample:
    """Read and score `path`; raises InputError for a file that cannot be now-tested.
    `known`: per category column, the values to count one by one (the schema's and the
    reference's); any other value counts as drift.OTHER. `alongside` sees every chunk scored
    (a trial's champion, scored on the challenger's pass)."""
    path = Path(path)
    target = model.target
    also = [*([target] if target else []), *(alongside.columns if alongside else ())]
    scan = CsvScan(path, model.feature_names, also, chunk_bytes)
    has_label = bool(target) and target in scan.source.header \
        and target not in model.feature_names
    wanted = model.features + ((Feature(target, CATEGORY, True),) if has_label else ())
    parts: dict[str, list] = {k: [] for k in ("parsed", "rejected", "prediction", "proba",
                                              "class_index", "labels")}
    numbers = {f.name: [] for f in model.features if f.type == NUMBER}
    categories = {f.name: Counter() for f in model.features if f.type != NUMBER}
    unknown: dict[str, tuple[int, str]] = {}
    rows = 0
    first_error = None
    for scanned in scan.chunks(cancel):
        chunk = scanned.chunk
        scored = scanned.score(model, wanted)
        columns, parsed, result = scored.columns, scored.parsed, scored.prediction
        for f in model.features:
            if f.type == NUMBER:
                numbers[f.name].append(columns[f.name])
                continue
            counts = category_counts(columns[f.name][parsed])
            if f.categories is not None:
                schema = set(f.categories)
                strange = [v for v in counts if v not in schema and v != MISSING]
                if strange:
                    before, example = unknown.get(f.name, (0, strange[0]))
                    unknown[f.name] = (before + sum(counts[v] for v in strange), example)
            for value, count in counts.items():  # values seen nowhere before: one category
                lumped = value if known is None or value in known[f.name] or value == MISSING \
                    else OTHER
                categories[f.name][lumped] += count
        if has_label:
            parts["labels"].append(label_values(columns[target], model, path, target,
                                                chunk.first_row))
        parts["parsed"].append(parsed)
        parts["rejected"].append(result.rejected)
        parts["prediction"].append(result.prediction)
        parts["proba"].append(result.proba)
        parts["class_index"].append(result.class_index)
        if first_error is None and result.errors:
            row = min(result.errors)
            first_error = f"row {chunk.first_row + row + 1}: {result.errors[row]}"
        rows += len(result.rejected)
        if alongside is not None:
            alongside.observe(scanned, result)
        progress(scanned.done, f"{rows:,} rows read")
    if rows == 0:
        raise no_rows(path)

    def joined(key):
        return None if parts[key][0] is None else np.concatenate(parts[key])

    return CurrentSample(path, scan.sha256, rows, joined("parsed"),
                         {k: np.concatenate(v) for k, v in numbers.items()}, categories,
                         unknown, joined("rejected"), joined("prediction"), joined("proba"),
                         joined("class_index"), has_label,
                         joined("labels") if has_label else None, first_error)


def label_mask(sample: CurrentSample) -> np.ndarray:
    """Rows with a true outcome that the model scored: the rows metrics are computed on."""
    if sample.labels is None:
        return np.zeros(sample.rows, dtype=bool)
    labels = sample.labels
    has = np.isfinite(labels) if labels.dtype.kind == "f" else labels >= 0
    return has & ~sample.rejected


def share(part: int, whole: int) -> float:
    return part / whole if whole else math.nan
