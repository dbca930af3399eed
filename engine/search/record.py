"""search.json: what a search did, on what data, and what it found (format ratchet-search/1)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import math
import platform

import numpy as np

from engine import __version__
from engine.metrics import GREATER_IS_BETTER
from engine.search.folds import Fold
from engine.search.runner import Trial

RECORD_FORMAT = "ratchet-search/1"
FOLD_METHOD = ("expanding-window folds on rows sorted by time: scikit-learn TimeSeriesSplit "
               "windows, each boundary moved forward past rows sharing its timestamp, so every "
               "validation row is later than every training row")


def clean(value):
    """JSON-ready: numpy scalars as Python values, NaN and infinities as null."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def libraries() -> dict[str, str]:
    found = {"ratchet": __version__, "python": platform.python_version()}
    for name in ("scikit-learn", "numpy", "pandas", "scipy", "joblib"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def _span(text: list[str], rows: np.ndarray) -> list[str] | None:
    return [text[int(rows[0])], text[int(rows[-1])]] if len(rows) else None


def fold_record(data, folds: list[Fold], holdout_start: int, fraction: float) -> dict:
    n = len(data.times)
    held = np.arange(holdout_start, n)
    return {
        "method": FOLD_METHOD,
        "folds": [{"fold": i + 1, "train_rows": len(f.train), "validation_rows": len(f.validation),
                   "train_time": _span(data.time_text, f.train),
                   "validation_time": _span(data.time_text, f.validation)}
                  for i, f in enumerate(folds)],
        "holdout": {"fraction": fraction, "rows": len(held), "time": _span(data.time_text, held),
                    "used_for": "the candidates' reference sample and golden / contrived cases; "
                                "never in the search or the refits"},
        "refit_rows": holdout_start,
    }


def trial_record(trial: Trial, rank: int | None, estimator: str) -> dict:
    return {"rank": rank, "index": trial.index, "family": trial.family, "estimator": estimator,
            "params": trial.params, "fold_scores": list(trial.fold_scores), "mean": trial.mean,
            "std": trial.std, "fit_seconds": round(trial.fit_time, 4),
            "fit_seconds_std": round(trial.fit_time_std, 4),
            "score_seconds": round(trial.score_time, 4)}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def data_record(data) -> dict:
    return {"file": str(data.path.resolve()), "sha256": data.sha256, "rows_read": data.rows_read,
            "rows_unlabelled": data.rows_unlabelled, "rows_sampled_out": data.rows_sampled_out,
            "rows_used": len(data.frame), "target": data.target,
            "time_column": data.time_column,
            "time_range": [data.time_text[0], data.time_text[-1]],
            "features": {"numeric": list(data.numeric), "categorical": list(data.categorical)},
            "ignored_columns": list(data.ignored_columns)}


def metric_record(metric: str) -> dict:
    return {"name": metric, "greater_is_better": GREATER_IS_BETTER[metric]}
