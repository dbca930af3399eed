"""Contributions of a tree ensemble by exact path-dependent TreeSHAP: shallow trees from
per-leaf tables (`leaftables`), the others by the recursion (`treeshap`); both compiled ahead
of time, else by numba (`shap_kernel`)."""

from __future__ import annotations

import numpy as np

from engine.explain.shap_kernel import (
    expected_values,
    fill_combos,
    fill_tables,
    max_depth,
    path_slots,
    tree_shap,
)
from engine.explain.unavailable import ExplanationUnavailable, unavailable
from engine.model.trees import TreeEnsemble

BLOCK_ROWS = 256  # rows explained tree by tree together (a tree stays in cache meanwhile)
# Trees whose paths test at most this many distinct features get leaf tables (2^d x d weights
# per leaf). Measured, one thread, 20,000 rows, 30 GradientBoosting trees of depth d (kernel
# only, recursion -> tables, table build included): d=4 1.02 s -> 0.18 s, 5: 2.6 -> 0.64,
# 6: 6.1 -> 1.26, 7: 13.8 -> 2.5, 8: 20.4 -> 4.5 (48 MB of tables, 0.27 s to build).
TABLE_DEPTH = 8
# A tabled tree with at most this many split records also gets its whole contribution per
# combination of its records' directions (2^splits x its features): a row then needs one test
# per record and one look-up per feature. GradientBoosting(100, depth 3), 100,000 rows x 20,
# one thread, kernel only: recursion 4.5 s, leaf tables 1.3 s, combination tables 0.6-0.8 s
# (shap's TreeExplainer 4.4-7.4 s on the same busy machine).
COMBO_SPLITS = 8
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
    slot, leaf_d, leaf_row, leaf_f, leaf_z, use, last, leaf_tree = path_slots(
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
    fill_tables(leaf_d, leaf_row, leaf_z, offset, table)
    tables = (use, last, slot, leaf_d, leaf_row, leaf_f, offset, table,
              *_combos(est, use, last, slot, leaf_d, leaf_row, leaf_f, offset, table,
                       leaf_tree))
    if depth > 0:
        _cache[0] = (est.nodes, depth, tables)
    return tables



def _combos(est, use, last, slot, leaf_d, leaf_row, leaf_f, offset, table,
            leaf_tree) -> tuple:
    """(combo_off, combo_nf, combo_feat, combo) of `fill_combos` for the small tabled trees."""
    roots = est.roots.astype(np.int64)
    splits = last - roots + 1
    small = use & (splits <= COMBO_SPLITS)
    combo_feat = np.zeros((len(roots), max(1, COMBO_SPLITS)), dtype=np.int64)
    combo_nf = np.zeros(len(roots), dtype=np.int64)
    order = np.argsort(leaf_tree, kind="stable")
    bounds = np.searchsorted(leaf_tree[order], np.arange(len(roots) + 1))
    for t in np.flatnonzero(small):
        leaves = order[bounds[t]:bounds[t + 1]]
        feats = np.unique(np.concatenate([leaf_f[leaf_row[k], :leaf_d[k]] for k in leaves]))
        combo_nf[t] = len(feats)
        combo_feat[t, :len(feats)] = feats
    width = est.leaf_value.shape[1]
    size = np.where(small, (1 << np.where(small, splits, 0)) * combo_nf * width, 0)
    combo_off = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)
    combo_off[~small] = -1
    combo = np.zeros(int(size.sum()))
    fill_combos(est.nodes, est.roots, last, use, slot, leaf_d, leaf_row, leaf_f, offset, table,
                est.leaf_value.astype(np.float64), COMBO_SPLITS, combo_off, combo_nf,
                combo_feat, combo)
    return combo_off, combo_nf, combo_feat, combo
