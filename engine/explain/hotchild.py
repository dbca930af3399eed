"""The child a row takes at a split record, by the predictor's own rule (both TreeSHAP variants
decide a row's path with it)."""

from __future__ import annotations

import numba
import numpy as np

from engine.model.tree_codes import CATEGORICAL, FEATURE, MISSING_LEFT, ZERO_MISSING


@numba.njit(nogil=True, inline="always", error_model="numpy")
def hot_child(nodes, xb, c, bits, cat_lo):  # pragma: no cover - compiled
    """The child the predictor's walk takes at split record c for the row xb: its most
    general test (NaN, zero-is-missing, category sets), the same rule and the same float
    comparison; the additivity tests hold the two to the same leaves."""
    rec = nodes[c]
    f = rec.feat
    x = xb[f & FEATURE]
    if (f & CATEGORICAL) != 0:
        if x != x:
            go_left = f >= MISSING_LEFT
        else:
            start = np.intp(rec.thr)
            go_left = False
            if x > cat_lo and x < bits[start] * 32.0:
                k = np.intp(x)
                go_left = ((bits[start + 1 + (k >> 5)] >> (k & 31)) & 1) != 0
    else:
        miss = (x != x) | ((x == 0) & ((f & ZERO_MISSING) != 0))
        go_left = ((x <= rec.thr) & ~miss) | (miss & (f >= MISSING_LEFT))
    return rec.left if go_left else rec.right
