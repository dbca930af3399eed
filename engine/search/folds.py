"""Time-ordered validation: a held-out latest window, and expanding-window folds before it.

The rows are sorted by time. The folds are scikit-learn's TimeSeriesSplit windows on those rows
(K validation windows of n // (K + 1) rows each, every one trained on all rows before it), with
one change: a boundary that falls among rows sharing a timestamp moves forward past them, so
every validation row is strictly later than every row its model was trained on. The held-out
window (the latest share of rows, bounded the same way) takes no part in the search or in the
refits; the candidates' reference sample and golden cases come from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.errors import InputError

MIN_WINDOW_ROWS = 10  # fewer validation rows than this say nothing about a model


@dataclass(frozen=True, slots=True)
class Fold:
    train: np.ndarray  # row positions, all earlier than every validation row
    validation: np.ndarray


def past_ties(times: np.ndarray, boundary: int) -> int:
    """The first position at or after `boundary` whose time differs from the row before it."""
    if boundary <= 0 or boundary >= len(times):
        return boundary
    return int(np.searchsorted(times, times[boundary - 1], side="right"))


def _too_few(what: str, n: int, need: str) -> InputError:
    return InputError(f"too few rows for {what}: {n} labelled rows{need}. Give more rows (or a "
                      "larger --sample), fewer --folds or a larger --holdout.", "E_TOO_FEW_ROWS")


def holdout_start(times: np.ndarray, fraction: float) -> int:
    """Position where the held-out latest window starts; rows from there on are held out."""
    n = len(times)
    start = past_ties(times, n - max(1, math.ceil(n * fraction)))
    held = n - start
    if held < MIN_WINDOW_ROWS:
        why = (f", and the latest {fraction:.0%} by time is {held} rows after moving the "
               f"boundary past equal timestamps (at least {MIN_WINDOW_ROWS} are needed)")
        raise _too_few("the held-out window", n, why)
    return start


def time_folds(times: np.ndarray, k: int) -> list[Fold]:
    """K expanding-window folds over rows sorted by `times` (see the module docstring)."""
    n = len(times)
    size = n // (k + 1)
    if size < MIN_WINDOW_ROWS:
        raise _too_few(f"{k} time-ordered folds", n, f" before the held-out window; each fold "
                       f"needs {MIN_WINDOW_ROWS} validation rows, so at least "
                       f"{MIN_WINDOW_ROWS * (k + 1)} are needed")
    bounds = [past_ties(times, n - (k - i) * size) for i in range(k)] + [n]
    folds = []
    for i in range(k):
        start, end = bounds[i], bounds[i + 1]
        if end - start < MIN_WINDOW_ROWS or start == 0:
            raise InputError(f"the time column has too few distinct values to make {k} "
                             f"time-ordered folds: validation window {i + 1} keeps "
                             f"{max(end - start, 0)} rows once rows sharing a timestamp stay on "
                             "one side. Use fewer --folds or a finer time column.",
                             "E_TOO_FEW_ROWS")
        folds.append(Fold(np.arange(start), np.arange(start, end)))
    return folds
