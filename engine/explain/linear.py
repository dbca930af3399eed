"""Contributions of a linear model: coef x (value - the training sample's mean), per column.

The same numbers as `shap.LinearExplainer` with the training sample as background (which uses
that sample's mean); base value = coef . mean + intercept, so base + contributions = raw.
"""

from __future__ import annotations

import numpy as np

from engine.explain.unavailable import unavailable
from engine.model.estimators import Linear


def linear_contributions(est: Linear, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(base per output, rows x outputs x columns) in raw space."""
    if est.mean is None:
        raise unavailable("no training means")
    centered = X - est.mean
    contrib = centered[:, None, :] * est.coef[None, :, :]
    base = est.coef @ est.mean + est.intercept
    return base, contrib
