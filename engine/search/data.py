"""The training data of a search: read, checked, typed, labelled, and sorted by time."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engine.errors import InputError

log = logging.getLogger(__name__)

TASKS = ("auto", "classification", "regression")
MAX_CLASSES_INFERRED = 10  # an integer target with more distinct values is a quantity


@dataclass(frozen=True, slots=True)
class TrainingData:
    """Labelled rows sorted by time (stable), with the columns the search uses."""

    path: Path
    sha256: str
    frame: pd.DataFrame  # features + target, sorted by time, index 0..n-1
    times: np.ndarray  # sortable numbers (int64 ns for dates), aligned with frame
    time_text: list[str]  # the same instants as readable text
    target: str
    time_column: str
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    task: str  # "binary" | "multiclass" | "regression"
    task_reason: str
    classes: tuple | None
    rows_read: int
    rows_unlabelled: int
    rows_sampled_out: int
    ignored_columns: tuple[str, ...]

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    @property
    def X(self) -> pd.DataFrame:
        return self.frame[self.features]

    @property
    def y(self) -> pd.Series:
        return self.frame[self.target]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"the training file {path} does not exist or is not a file.")
    try:
        frame = pd.read_csv(path, low_memory=False)
    except (UnicodeDecodeError, ValueError, pd.errors.ParserError, OSError) as exc:
        raise InputError(f"the training file {path} cannot be read as CSV ({exc}); give a UTF-8 "
                         "comma-separated file with a header row.") from None
    if frame.empty:
        raise InputError(f"the training file {path} has no data rows.")
    return frame


def _need_columns(frame: pd.DataFrame, path: Path, names: list[str], what: str) -> None:
    absent = [n for n in names if n not in frame.columns]
    if absent:
        raise InputError(f"the training file {path} has no {what} column(s) "
                         f"{', '.join(map(repr, absent))}; its columns are "
                         f"{', '.join(map(repr, frame.columns))}.", "E_MISSING_COLUMN")


def parse_times(column: pd.Series, path: Path) -> tuple[np.ndarray, list[str]]:
    """Numbers stay numbers; anything else must read as dates (ISO 8601 or other common forms).
    Returns sortable values and their text; a missing or unreadable value is an error, named by
    its data row in the file (the index of `column`, 0-based, as read_csv numbers rows)."""
    name = column.name
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        text = None
    else:
        parsed = pd.to_datetime(column, utc=True, format="ISO8601", errors="coerce")
        if parsed.isna().any():
            parsed = pd.to_datetime(column, utc=True, format="mixed", errors="coerce")
        bad = parsed.isna().to_numpy()
        values = parsed.to_numpy(dtype="datetime64[ns]").astype(np.int64)
        text = parsed
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"the time column {name!r} of {path} has no usable time in data row "
                         f"{int(column.index[row]) + 1} (value {column.iloc[row]!r}); every row "
                         "needs a date/time (e.g. 2013-01-01 05:00) or a number that orders the "
                         "rows.",
                         "E_TIME_COLUMN")
    if text is None:
        return values, [repr(float(v)) if not float(v).is_integer() else str(int(v))
                        for v in values]
    return values, [t.isoformat() for t in text]


def _infer_task(y: pd.Series, wanted: str, target: str) -> tuple[str, str]:
    numeric = pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)
    distinct = y.nunique()
    if wanted == "regression":
        if not numeric:
            raise InputError(f"--task regression needs a numeric target, but {target!r} holds "
                             f"text such as {y.iloc[0]!r}.", "E_TARGET")
        return "regression", "given by --task"
    if wanted == "classification":
        reason = "given by --task"
    elif not numeric:
        reason = "the target holds text labels"
    elif distinct <= MAX_CLASSES_INFERRED and np.all(np.mod(y.to_numpy(np.float64), 1) == 0):
        reason = f"the target holds {distinct} distinct whole numbers"
    else:
        return "regression", (f"the target is numeric with {distinct} distinct values "
                              "(--task classification overrides)")
    if distinct < 2:
        raise InputError(f"the target {target!r} has a single class ({y.iloc[0]!r}) in all "
                         f"{len(y)} labelled rows; a classifier needs at least two.",
                         "E_TARGET")
    return ("binary" if distinct == 2 else "multiclass"), reason


def _class_labels(y: pd.Series) -> pd.Series:
    """Whole-number floats become integers and booleans text, so labels read back the same
    from a CSV on the workstation."""
    if pd.api.types.is_bool_dtype(y):
        return y.astype(str)
    if pd.api.types.is_float_dtype(y) and np.all(np.mod(y.to_numpy(), 1) == 0):
        return y.astype(np.int64)
    if not pd.api.types.is_numeric_dtype(y):
        return y.astype(str)
    return y


def _as_text(column: pd.Series) -> pd.Series:
    """A categorical feature as text, missing values kept missing."""
    return column.astype(object).where(column.isna(), column.astype(str))


def load_training(path: Path, target: str, time_column: str, features: list[str] | None = None,
                  task: str = "auto", sample: int | None = None, seed: int = 0) -> TrainingData:
    """Read and check TRAIN.csv; rows without a target value are left out (and counted)."""
    path = Path(path)
    if target == time_column:
        raise InputError(f"--target and --time-column are both {target!r}; the time column "
                         "orders the rows and cannot be what the model predicts.")
    frame = _read(path)
    _need_columns(frame, path, [target], "target")
    _need_columns(frame, path, [time_column], "time")
    if features is None:
        features = [c for c in frame.columns if c not in (target, time_column)]
    else:
        _need_columns(frame, path, features, "feature")
        clash = [f for f in features if f in (target, time_column)]
        if clash:
            raise InputError(f"--features names {', '.join(map(repr, clash))}, the target or "
                             "time column; leave it out.")
    ignored = tuple(f for f in features if frame[f].isna().all())
    features = [f for f in features if f not in ignored]
    if not features:
        raise InputError(f"the training file {path} has no feature columns with values besides "
                         f"the target {target!r} and the time column {time_column!r}.")
    rows_read = len(frame)
    labelled = frame[target].notna().to_numpy()
    frame = frame[labelled]
    if frame.empty:
        raise InputError(f"the target column {target!r} of {path} has no values.", "E_TARGET")
    sampled_out = 0
    if sample is not None and sample < len(frame):
        sampled_out = len(frame) - sample
        frame = frame.sample(n=sample, random_state=seed).sort_index()
    times, time_text = parse_times(frame[time_column], path)
    order = np.argsort(times, kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    times, time_text = times[order], [time_text[i] for i in order]
    kind, reason = _infer_task(frame[target], task, target)
    y = frame[target] if kind == "regression" else _class_labels(frame[target])
    numeric = [f for f in features if pd.api.types.is_numeric_dtype(frame[f])
               and not pd.api.types.is_bool_dtype(frame[f])]
    categorical = [f for f in features if f not in numeric]
    data = {f: frame[f] for f in numeric} | {f: _as_text(frame[f]) for f in categorical}
    out = pd.DataFrame(data | {target: y})
    classes = None if kind == "regression" else tuple(_plain(c) for c in np.unique(y))
    if ignored:
        log.warning("ignored feature column(s) without any value: %s", ", ".join(ignored))
    return TrainingData(path, _sha256(path), out, times, time_text, target, time_column,
                        tuple(numeric), tuple(categorical), kind, reason, classes, rows_read,
                        int((~labelled).sum()), sampled_out, ignored)


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
