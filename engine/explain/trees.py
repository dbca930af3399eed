"""Contributions of a tree ensemble by exact path-dependent TreeSHAP: shallow trees from
per-leaf tables (`leaftables`), the others by the recursion (`treeshap`)."""

from __future__ import annotations

import numpy as np

from engine.explain.leaftables import fill_tables, path_slots
from engine.explain.treeshap import expected_values, max_depth, tree_shap
from engine.explain.unavailable import ExplanationUnavailable, unavailable
from engine.model.trees import TreeEnsemble

BLOCK_ROWS = 256  # rows explained tree by tree together (a tree stays in cache meanwhile)
# Trees whose paths test at most this many distinct features get leaf tables (2^d x d weights
# per leaf). Measured, one thread, 20,000 rows, 30 GradientBoosting trees of depth d (kernel
# only, recursion -> tables, table build included): d=4 1.02 s -> 0.18 s, 5: 2.6 -> 0.64,
# 6: 6.1 -> 1.26, 7: 13.8 -> 2.5, 8: 20.4 -> 4.5 (48 MB of tables, 0.27 s to build).
TABLE_DEPTH = 8
TABLE_BYTES = 32 << 20  # all tables of one ensemble together stay below this (trees in order)
# (the ensemble's nodes, depth, its tables): the last tables built, one tuple (threads may
# read it while another replaces it)
_cache: list = [None]


def tree_contributions(est: TreeEnsemble, X: np.ndarray,
                       table_depth: int = TABLE_DEPTH) -> tuple[np.ndarray, np.ndarray]:
    """(base per output, rows x outputs x columns) in raw space (the divisor applied).
    table_depth: the most distinct features on a path of a tree explained from tables (0:
    none; the two variants agree to rounding, which the tests hold them to)."""
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
              phi, _tables_for(est, min(table_depth, _worth(X.shape[0]))))
    if est.divisor != 1.0:
        base /= est.divisor
        phi /= est.divisor
    return base, phi


def _worth(n_rows: int) -> int:
    """The deepest tables worth building for n_rows: a tree's tables cost about as much as
    2^d * d rows explained by the recursion."""
    depth = 0
    while depth < 62 and (1 << (depth + 1)) * (depth + 1) <= n_rows:
        depth += 1
    return depth


def _tables_for(est: TreeEnsemble, depth: int) -> tuple:
    """Tables up to depth, or the deeper ones already built for this ensemble."""
    cached = _cache[0]
    if depth > 0 and cached is not None and cached[0] is est.nodes and cached[1] >= depth:
        return cached[2]
    return leaf_tables(est, depth)


def leaf_tables(est: TreeEnsemble, depth: int) -> tuple:
    """`tree_shap`'s tables argument: which trees use tables, and the tables. Kept for the
    last ensemble explained (a batch explains it chunk after chunk)."""
    cached = _cache[0]
    if cached is not None and cached[0] is est.nodes and cached[1] == depth:
        return cached[2]
    split_cover, leaf_cover = est.cover
    slot, leaf_d, leaf_f, leaf_z, use, last, leaf_tree = path_slots(
        est.nodes, est.roots, split_cover, leaf_cover, depth)
    size = np.where(use[leaf_tree] & (leaf_tree >= 0), (1 << leaf_d) * leaf_d, 0)
    per_tree = np.bincount(leaf_tree[leaf_tree >= 0], size[leaf_tree >= 0],
                           minlength=len(use)).astype(np.int64)
    within = np.cumsum(per_tree) * 8 <= TABLE_BYTES  # trees in order, until the budget ends
    use &= within
    size[(leaf_tree < 0) | ~use[np.maximum(leaf_tree, 0)]] = 0
    offset = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)
    offset[size == 0] = -1
    table = np.empty(int(size.sum()))
    fill_tables(leaf_d, leaf_z, offset, table)
    tables = (use, last, slot, leaf_d, leaf_f, offset, table)
    if depth > 0:
        _cache[0] = (est.nodes, depth, tables)
    return tables

