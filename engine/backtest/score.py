"""Scoring a corpus file: every model over every row, kept compactly for the evaluation.

What comes out per row is only what the evaluation needs: the partition (a code into a list of
keys), the true outcome (a class index, or a number for regression models; -1 / NaN when the
row has none) and, per model, whether it rejected the row, its prediction (class index or
value) and its class probabilities. The same function runs on this machine (batches in threads)
and on Dask workers (one file each), so both paths give the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
from joblib import Parallel, delayed

from engine.backtest.columns import category_words, label_index, number_values
from engine.backtest.corpus import Needed, iter_batches
from engine.backtest.partitions import key_codes
from engine.model import Model
from engine.model.categories import NUMBER
from engine.model.rows import RowErrors, show_value
from engine.progress import CancelToken


@dataclass(frozen=True, slots=True)
class Task:
    """What every model of a back-test shares: the kind of outcome and how rows are grouped."""

    task: str  # "binary" | "multiclass" | "regression"
    classes: tuple | None
    needed: Needed
    by: str
    timezone: str | None = None  # IANA name: times with an offset / Z are converted to it


@dataclass(frozen=True, slots=True)
class ModelOutput:
    rejected: np.ndarray  # bool per row
    prediction: np.ndarray  # class index (int16, -1 when rejected) or value (NaN when rejected)
    proba: np.ndarray | None  # rows x classes (NaN when rejected); None for regression


@dataclass(frozen=True, slots=True)
class Scored:
    rows: int
    keys: list[str]  # partition keys; "" collects the rows without a readable time
    key_code: np.ndarray  # int32 per row, into keys
    y: np.ndarray  # class index (int16, -1: unlabelled) or value (float64, NaN: unlabelled)
    outputs: dict[str, ModelOutput]  # by model label
    untimed_examples: tuple[str, ...] = ()  # a few time values that could not be read
    extra: np.ndarray | None = None  # a float per row from score_batch's `extra`, if given

    @property
    def labelled(self) -> np.ndarray:
        return self.y >= 0 if self.y.dtype.kind == "i" else ~np.isnan(self.y)


def _model_output(model: Model, columns: dict, errors: RowErrors) -> ModelOutput:
    result = model.predict_columns(columns, errors)
    if model.task == "regression":
        return ModelOutput(result.rejected, np.asarray(result.prediction, dtype=np.float64),
                           None)
    index = np.asarray(result.class_index, dtype=np.int16).copy()
    index[result.rejected] = -1
    return ModelOutput(result.rejected, index, np.asarray(result.proba, dtype=np.float64))


Extra = Callable[[pa.Table, dict], np.ndarray]


def convert(table: pa.Table, converted: dict, name: str, kind: str, marks) -> tuple:
    """(values, rows that are not numbers or None) of column `name` parsed as `kind`,
    converted once per batch and shared (by everything scored from the batch)."""
    if (name, kind, marks) not in converted:
        if kind == "number":
            converted[name, kind, marks] = number_values(table.column(name), marks)
        else:
            words, index = distinct_words(table, converted, name, marks)
            converted[name, kind, marks] = (words[index], None)
    return converted[name, kind, marks]


def distinct_words(table: pa.Table, converted: dict, name: str, marks
                   ) -> tuple[np.ndarray, np.ndarray]:
    """A category column as (its distinct texts, each row's index into them), Arrow's
    dictionary encoding (columns.category_words), made once per batch like `convert`'s."""
    if (name, "words", marks) not in converted:
        converted[name, "words", marks] = category_words(table.column(name), marks)
    return converted[name, "words", marks]


def score_batch(table: pa.Table, first: int, path: Path, task: Task,
                models: list[tuple[str, Model]], cancel: CancelToken | None = None,
                extra: Extra | None = None) -> Scored:
    """`extra(table, converted)`: a float per row computed from the same batch (its columns
    converted once: `converted` as `convert` fills it), kept in Scored.extra."""
    if cancel is not None:
        cancel.check()
    needed = task.needed
    codes, keys = key_codes(table.column(needed.time), task.by, task.timezone)
    y = label_index(table.column(needed.label), task.task, task.classes, needed.label,
                    f"{path}", first)
    converted: dict[tuple, tuple[np.ndarray, np.ndarray | None]] = {}
    values = None if extra is None else extra(table, converted)  # before the models: unread
    outputs = {}
    for label, model in models:
        columns, errors = {}, RowErrors(table.num_rows)
        marks = model.missing_markers
        for f in model.features:
            kind = "number" if f.type == NUMBER else "category"
            columns[f.name], bad = convert(table, converted, f.name, kind, marks)
            if bad is not None:  # as the predictor's own parsing would reject them
                text = table.column(f.name)
                errors.add(bad, lambda row, name=f.name, text=text: (
                    f"column {name!r}: {show_value(text[row].as_py())} is not a number"))
        outputs[label] = _model_output(model, columns, errors)
    examples: tuple[str, ...] = ()
    if "" in keys:
        rows = np.flatnonzero(codes == keys.index(""))[:200]
        times = table.column(needed.time).take(pa.array(rows)).to_pylist()
        examples = tuple(dict.fromkeys("" if t is None else str(t) for t in times))[:3]
    return Scored(table.num_rows, keys, codes, y, outputs, examples, values)


def concat(parts: list[Scored], labels: list[str]) -> Scored:
    """One Scored of many, in order; partition codes re-numbered into one sorted key list."""
    keys = sorted({k for p in parts for k in p.keys})
    code_of = {k: i for i, k in enumerate(keys)}
    codes = [np.array([code_of[k] for k in p.keys], dtype=np.int32)[p.key_code]
             if p.rows else np.zeros(0, np.int32) for p in parts]

    def join(arrays, dtype):
        return np.concatenate(arrays) if arrays else np.zeros(0, dtype)

    outputs = {}
    for label in labels:
        outs = [p.outputs[label] for p in parts]
        proba = None if not outs or outs[0].proba is None else np.concatenate(
            [o.proba for o in outs])
        outputs[label] = ModelOutput(join([o.rejected for o in outs], bool),
                                     join([o.prediction for o in outs], np.int16), proba)
    examples = tuple(e for p in parts for e in p.untimed_examples)[:3]
    extra = (join([p.extra for p in parts], np.float64)
             if parts and all(p.extra is not None for p in parts) else None)
    return Scored(sum(p.rows for p in parts), keys, join(codes, np.int32),
                  join([p.y for p in parts], np.int16), outputs, examples, extra)


def score_file(path: Path, task: Task, models: list[tuple[str, Model]], n_jobs: int = 1,
               cancel: CancelToken | None = None,
               on_batch: Callable[[int], None] | None = None,
               extra: Extra | None = None) -> Scored:
    """Every batch of one file scored by every model (batches in `n_jobs` threads: the tree
    kernel releases the GIL); `extra` as in score_batch."""
    def one(first: int, table: pa.Table) -> Scored:
        scored = score_batch(table, first, path, task, models, cancel, extra)
        if on_batch is not None:
            on_batch(scored.rows)
        return scored

    batches = iter_batches(path, task.needed)
    if n_jobs == 1:
        parts = [one(first, table) for first, table in batches]
    else:
        with Parallel(n_jobs=n_jobs, backend="threading", pre_dispatch="2*n_jobs") as parallel:
            parts = parallel(delayed(one)(first, table) for first, table in batches)
    return concat(parts, [label for label, _ in models])


def batches_of(size: int, block_bytes: int) -> int:
    """About how many batches a CSV of `size` bytes makes (for progress only)."""
    return max(1, math.ceil(size / block_bytes))
