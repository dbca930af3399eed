"""Contributions of a tree ensemble by exact path-dependent TreeSHAP (see `treeshap`)."""

from __future__ import annotations

import numpy as np

from engine.explain.treeshap import expected_values, max_depth, tree_shap
from engine.explain.unavailable import ExplanationUnavailable, unavailable
from engine.model.trees import TreeEnsemble

BLOCK_ROWS = 256  # rows explained tree by tree together (a tree stays in cache meanwhile)


def tree_contributions(est: TreeEnsemble, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(base per output, rows x outputs x columns) in raw space (the divisor applied)."""
    if est.cover is None:
        raise unavailable("no node covers")
    if est.linear[1].shape[0] > 0:
        raise ExplanationUnavailable(
            "explanations are unavailable for this model: it has linear leaves (LightGBM's "
            "linear_tree), which exact TreeSHAP does not cover; predictions are unaffected.")
    split_cover, leaf_cover = est.cover
    leaf_value = est.leaf_value.astype(np.float64)
    base = est.init.astype(np.float64)
    expected_values(est.nodes, est.roots, est.out_col, leaf_value, split_cover, leaf_cover,
                    base)
    X = np.ascontiguousarray(X, dtype=np.float64)
    phi = np.zeros((X.shape[0], est.n_outputs, X.shape[1]))
    scratch = np.empty((max(1, min(BLOCK_ROWS, X.shape[0])), max(1, X.shape[1])),
                       dtype=est.nodes.dtype["thr"])
    tree_shap(X, est.nodes, est.roots, est.out_col, leaf_value, split_cover, leaf_cover,
              est.bits, est.cat_lo, est.zero_below, max_depth(est.nodes, est.roots), scratch,
              phi)
    if est.divisor != 1.0:
        base /= est.divisor
        phi /= est.divisor
    return base, phi
