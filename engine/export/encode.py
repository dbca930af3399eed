"""Turning numpy values into JSON values that round-trip exactly."""

from __future__ import annotations

import math

import numpy as np

from engine.errors import UnsupportedModel


def floats(values) -> list[float]:
    """Python floats (JSON writes them in shortest round-trip form); refuses NaN and infinity."""
    out = [float(v) for v in np.asarray(values, dtype=np.float64).ravel()]
    if not all(math.isfinite(v) for v in out):
        raise UnsupportedModel("the model holds a NaN or infinite coefficient, which the "
                               "coefficient format cannot carry; check how it was trained.")
    return out


def thresholds(values) -> list:
    """Like `floats`, but infinite split thresholds (real in HistGradientBoosting) become
    the strings "+inf" / "-inf" that the format defines."""
    out: list = []
    for v in np.asarray(values, dtype=np.float64).ravel():
        v = float(v)
        if math.isinf(v):
            out.append("+inf" if v > 0 else "-inf")
        elif math.isnan(v):
            raise UnsupportedModel("a tree has a NaN split threshold; it cannot be exported.")
        else:
            out.append(v)
    return out
