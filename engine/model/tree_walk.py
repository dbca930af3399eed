"""The tree kernel's compiled walk (the layout and the rationale: engine/model/tree_kernel.py).

This one source is compiled two ways. Ahead of time, into the extension module
engine/model/_tree_aot (`make setup` and the installer build it: installer/kernels.py), which
loads without numba, so no prediction waits for a compiler or for numba's start-up. Just in time
by numba, where that module is missing or was built from another version of this file or of
tree_codes (numba caches the result in __pycache__).
"""

from __future__ import annotations

import numba
import numpy as np

from engine.model.tree_codes import CATEGORICAL, FEATURE, LEAF, MISSING_LEFT, ZERO_MISSING


@numba.njit(nogil=True, inline="always")
def missing_aware_left(rec, x):  # pragma: no cover - compiled
    """Whether x goes left at the number split `rec`: NaN, or a zero where the record's
    zero-is-missing bit is set, goes the missing way; any other x left when x <= thr."""
    f = rec.feat
    miss = (x != x) | ((x == 0) & ((f & ZERO_MISSING) != 0))
    return ((x <= rec.thr) & ~miss) | (miss & (f >= MISSING_LEFT))


@numba.njit(nogil=True, inline="always")
def goes_left(rec, x, bits, cat_lo):  # pragma: no cover - compiled
    """The most general test at split record `rec` (the walk's mode 3, and the explanation's
    walk, engine/explain/treeshap.py): a category-set split sends x > cat_lo, category int(x)
    (C's truncation), left when its bit is set, anything else (not a category, beyond the
    set) right, and NaN the missing way; a number split as missing_aware_left."""
    f = rec.feat
    if (f & CATEGORICAL) == 0:
        return missing_aware_left(rec, x)
    if x != x:
        return f >= MISSING_LEFT
    start = np.intp(rec.thr)
    if x > cat_lo and x < bits[start] * 32.0:
        k = np.intp(x)
        return ((bits[start + 1 + (k >> 5)] >> (k & 31)) & 1) != 0
    return False


@numba.njit(nogil=True, inline="always")
def _next(nodes, xb, r, c, mode, bits, cat_lo):  # pragma: no cover - compiled
    """mode 0: no NaN in the block; 1: NaN possible; 2: NaN or a zero-is-missing node's zero;
    3: as 2, and category-set splits (goes_left)."""
    rec = nodes[c]
    f = rec.feat
    x = xb[r, f & FEATURE]
    if mode == 0:
        go_left = x <= rec.thr
    elif mode == 1:
        # NaN fails x <= thr and then goes left only if the record's missing bit is set.
        go_left = (x <= rec.thr) | ((x != x) & (f >= MISSING_LEFT))
    elif mode == 2:
        go_left = missing_aware_left(rec, x)
    else:
        go_left = goes_left(rec, x, bits, cat_lo)
    return rec.left if go_left else rec.right


@numba.njit(nogil=True, inline="always")
def _walk(nodes, xb, b, root, dense, res, act, pend, mode, bits, cat_lo):  # pragma: no cover
    """res[r] = the leaf code that row r of the block reaches in the tree starting at root."""
    for r in range(b):
        res[r] = root
    for _ in range(dense):
        for r in range(b):
            res[r] = _next(nodes, xb, r, res[r], mode, bits, cat_lo)
    n_act = 0
    for r in range(b):
        c = res[r]
        act[n_act] = r
        pend[n_act] = c
        n_act += c < LEAF
    while n_act > 0:
        k = 0
        for j in range(n_act):
            r = act[j]
            c = _next(nodes, xb, r, pend[j], mode, bits, cat_lo)
            res[r] = c
            act[k] = r
            pend[k] = c
            k += c < LEAF
        n_act = k


@numba.njit(nogil=True, cache=True)
def accumulate_trees(X, by_column, nodes, roots, dense, out_col, leaf_value, out, xb,
                     zero_below, zero_nodes, bits, cat_lo,
                     linear):  # pragma: no cover - compiled; via the predictor
    """out[i, out_col[t] + k] += leaf_value[leaf(t, row i), k] for every row i and tree t.

    X is float64 and C-contiguous: rows x features, or features x rows when by_column (the
    transpose of a column-major matrix, read without a copy). xb is the block scratch (rows per
    block x features) in the thresholds' dtype, so float32 models see float32(x). NaN goes the
    way the node's missing bit says. With zero_below >= 0, |x| <= zero_below is read as 0 (as
    LightGBM reads its input); zero_nodes says some node sends a zero the missing way. out and
    leaf_value share a dtype: float32 sums in float32, in tree order, like XGBoost. bits holds
    the category sets (bits[0] > 0: some node splits on one); cat_lo as in _next. linear is
    (ptr, feature, coeff, const, scale): leaf l with ptr[l] < ptr[l + 1] adds
    scale * (const[l] + sum of coeff * x over its features, in order) instead of its value,
    unless one of those x is NaN (LightGBM's linear_tree).
    """
    lin_ptr, lin_feat, lin_coef, lin_const, lin_scale = linear
    has_linear = lin_feat.shape[0] > 0
    cats = bits[0] > 0
    n_rows, n_feat = (X.shape[1], X.shape[0]) if by_column else (X.shape[0], X.shape[1])
    block = xb.shape[0]
    width = leaf_value.shape[1]
    res = np.empty(block, dtype=np.uint32)
    act = np.empty(block, dtype=np.uint32)
    pend = np.empty(block, dtype=np.uint32)
    flush = zero_below >= 0
    for start in range(0, n_rows, block):
        b = min(n_rows, start + block) - start
        has_nan = False
        has_zero = False
        if by_column:  # row by row too: 13 ms per 1M x 20 here, feature by feature 18-27 ms
            for r in range(b):
                for j in range(n_feat):
                    x = X[j, start + r]
                    if flush and abs(x) <= zero_below:
                        x = 0.0
                    xb[r, j] = x
                    has_nan |= x != x
                    has_zero |= x == 0
        else:
            for r in range(b):
                for j in range(n_feat):
                    x = X[start + r, j]
                    if flush and abs(x) <= zero_below:
                        x = 0.0
                    xb[r, j] = x
                    has_nan |= x != x
                    has_zero |= x == 0
        for t in range(roots.shape[0]):
            if cats:
                _walk(nodes, xb, b, roots[t], dense[t], res, act, pend, 3, bits, cat_lo)
            elif zero_nodes and (has_zero or has_nan):
                _walk(nodes, xb, b, roots[t], dense[t], res, act, pend, 2, bits, cat_lo)
            elif has_nan:
                _walk(nodes, xb, b, roots[t], dense[t], res, act, pend, 1, bits, cat_lo)
            else:
                _walk(nodes, xb, b, roots[t], dense[t], res, act, pend, 0, bits, cat_lo)
            col = out_col[t]
            for r in range(b):
                leaf = res[r] ^ LEAF
                if has_linear and lin_ptr[leaf] < lin_ptr[leaf + 1]:
                    v = lin_const[leaf]
                    nan_found = False
                    for i in range(lin_ptr[leaf], lin_ptr[leaf + 1]):
                        x = xb[r, lin_feat[i]]
                        if x != x:
                            nan_found = True
                            break
                        v += lin_coef[i] * x
                    if not nan_found:
                        out[start + r, col] += v * lin_scale
                        continue
                for k in range(width):
                    out[start + r, col + k] += leaf_value[leaf, k]
