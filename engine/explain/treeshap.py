"""Exact path-dependent TreeSHAP (Lundberg et al. 2018, Algorithm 2) over the packed trees.

The same algorithm as `shap.TreeExplainer(feature_perturbation="tree_path_dependent")` (its
C++ `tree_shap_recursive`, `extend_path`, `unwind_path` and `unwound_path_sum`, in float64),
walking `tree_kernel`'s split records: the child a row follows at a node ("hot") is decided by
the predictor's own rule (`_hot`), so NaN, zero-is-missing, float32 thresholds and category
sets go exactly where the prediction sent them. A node's share of the training data is its cover
divided by its parent's; the base value is computed with the same shares (the value of the
empty coalition), so base + sum of contributions is the sum of the row's leaves to rounding.

The unique path lives in one buffer of (depth + 2)(depth + 3) / 2 elements: each level copies
its parent's path just after it, as shap does; the recursion runs on an explicit stack. Rows
are explained one after another (one thread, nogil); each row's scratch copy is cast and
flushed like the predictor's. Shallow trees skip the recursion: `tables_phi` and `combo_phi`
read the tables `leaftables` builds (kept in this file with the driver that inlines them:
numba's cache of `tree_shap` is only invalidated by changes to this file).
"""

from __future__ import annotations

import numba
import numpy as np

from engine.model.tree_codes import FEATURE, LEAF
from engine.model.tree_walk import goes_left


@numba.njit(nogil=True, inline="always", error_model="numpy")
def _hot(nodes, xb, c, bits, cat_lo):  # pragma: no cover - compiled
    """The child the predictor's walk takes at split record c for the row xb: its most
    general test (engine.model.tree_walk.goes_left, the same rule and float comparison);
    the additivity tests hold the two to the same leaves."""
    rec = nodes[c]
    return rec.left if goes_left(rec, xb[rec.feat & FEATURE], bits, cat_lo) else rec.right


@numba.njit(nogil=True, inline="always", error_model="numpy")
def tables_phi(nodes, xb, bits, cat_lo, first, last, slot, leaf_d, leaf_row, leaf_f, offset,
               table,
               leaf_value, col, phi, cleared):  # pragma: no cover - compiled
    """Add one tree's contributions for the row xb (its records first..last): top-down, each
    record's cleared slot bits (the features the row stopped following) pass to its children;
    at a leaf, mask = its d bits minus the cleared ones picks the d weights."""
    cleared[0] = 0
    for c in range(first, last + 1):
        rec = nodes[c]
        bad = cleared[c - first]
        hot = _hot(nodes, xb, c, bits, cat_lo)
        off = np.int64(1) << slot[c]
        for child in (rec.left, rec.right):
            b = bad if child == hot else bad | off
            if child >= LEAF:
                leaf = child ^ LEAF
                d = leaf_d[leaf]
                at = offset[leaf] + (((np.int64(1) << d) - 1) ^ b) * d
                for k in range(leaf_value.shape[1]):
                    v = leaf_value[leaf, k]
                    for i in range(d):
                        phi[col + k, leaf_f[leaf_row[leaf], i]] += table[at + i] * v
            else:
                cleared[child - first] = b


@numba.njit(nogil=True, inline="always", error_model="numpy")
def combo_phi(nodes, xb, bits, cat_lo, first, last, combo_off, nf, feat, combo, width, col,
              phi):  # pragma: no cover - compiled
    """Add one tree's contributions for the row xb from its combination table (fill_combos)."""
    code = np.int64(0)
    for c in range(first, last + 1):
        if _hot(nodes, xb, c, bits, cat_lo) == nodes[c].left:
            code |= np.int64(1) << (c - first)
    at = combo_off + code * nf * width
    for i in range(nf):
        f = feat[i]
        for k in range(width):
            phi[col + k, f] += combo[at + i * width + k]


@numba.njit(nogil=True, inline="always", error_model="numpy")
def _extend(feat, zero, one, pw, start, depth, zero_fraction, one_fraction, feature,
            up, down):  # pragma: no cover - compiled
    p = start
    feat[p + depth] = feature
    zero[p + depth] = zero_fraction
    one[p + depth] = one_fraction
    pw[p + depth] = 1.0 if depth == 0 else 0.0
    for i in range(depth - 1, -1, -1):
        pw[p + i + 1] += one_fraction * pw[p + i] * up[depth, i]
        pw[p + i] = zero_fraction * pw[p + i] * down[depth, i]


@numba.njit(nogil=True, inline="always", error_model="numpy")
def _unwind(feat, zero, one, pw, start, depth, index):
    p = start
    one_fraction = one[p + index]
    zero_fraction = zero[p + index]
    next_one = pw[p + depth]
    for i in range(depth - 1, -1, -1):
        if one_fraction != 0:
            tmp = pw[p + i]
            pw[p + i] = next_one * (depth + 1) / ((i + 1) * one_fraction)
            next_one = tmp - pw[p + i] * zero_fraction * (depth - i) / (depth + 1)
        else:
            pw[p + i] = (pw[p + i] * (depth + 1)) / (zero_fraction * (depth - i))
    for i in range(index, depth):
        feat[p + i] = feat[p + i + 1]
        zero[p + i] = zero[p + i + 1]
        one[p + i] = one[p + i + 1]


@numba.njit(nogil=True, inline="always", error_model="numpy")
def _hot_unwound_sum(zero, one, pw, start, depth, index, ratio, down):  # pragma: no cover
    """shap's unwound_path_sum for an element with one_fraction != 0, its divisions taken
    out of the dependent chain (ratio[d, i] = (d + 1) / (i + 1), down[d, i] = (d - i) /
    (d + 1))."""
    p = start
    inv_one = 1.0 / one[p + index]
    zero_fraction = zero[p + index]
    next_one = pw[p + depth]
    total = 0.0
    for i in range(depth - 1, -1, -1):
        tmp = next_one * ratio[depth, i] * inv_one
        total += tmp
        next_one = pw[p + i] - tmp * zero_fraction * down[depth, i]
    return total


@numba.njit(nogil=True, inline="always", error_model="numpy")
def _cold_sum(pw, start, depth, inverse_down):  # pragma: no cover - compiled
    """An element with one_fraction 0 has unwound sum S / its zero_fraction, with S the same
    for every such element of the path: S = sum of pw[i] (d + 1) / (d - i). Its
    contribution scale, w (0 - zero_fraction), is then -S."""
    total = 0.0
    for i in range(depth - 1, -1, -1):
        total += pw[start + i] * inverse_down[depth, i]
    return total


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _tables(max_depth):  # pragma: no cover - compiled
    n = max_depth + 3
    up = np.zeros((n, n))
    down = np.zeros((n, n))
    ratio = np.zeros((n, n))
    inverse_down = np.zeros((n, n))
    for d in range(n):
        for i in range(d):
            up[d, i] = (i + 1) / (d + 1)
            down[d, i] = (d - i) / (d + 1)
            ratio[d, i] = (d + 1) / (i + 1)
            inverse_down[d, i] = (d + 1) / (d - i)
    return up, down, ratio, inverse_down


@numba.njit(nogil=True, inline="always", error_model="numpy")
def _tree_phi(nodes, xb, bits, cat_lo, split_cover, leaf_cover, leaf_value, col, phi, root,
              feat, zero, one, pw, stack_code, stack_depth, stack_start, stack_zero, stack_one,
              stack_feature, up, down, ratio, inverse_down):  # pragma: no cover - compiled
    """shap's tree_shap_recursive for one row and tree, with an explicit stack (numba's cache
    does not keep recursive functions safely). A frame is a call: (node, its unique depth, where
    its parent's path starts, the zero and one fractions and feature it extends the path by).
    A child's path copy lies beyond its parent's, so a frame pushed for the cold child still
    finds its parent's path intact after the hot child's whole subtree has run."""
    top = 0
    stack_code[0] = root
    stack_depth[0] = 0
    stack_start[0] = 0
    stack_zero[0] = 1.0
    stack_one[0] = 1.0
    stack_feature[0] = -1
    while top >= 0:
        code = stack_code[top]
        depth = stack_depth[top]
        parent_start = stack_start[top]
        zero_fraction = stack_zero[top]
        one_fraction = stack_one[top]
        feature = stack_feature[top]
        top -= 1
        start = parent_start + depth  # this call's copy of the path, after its parent's
        if depth > 0:
            for i in range(depth):
                feat[start + i] = feat[parent_start + i]
                zero[start + i] = zero[parent_start + i]
                one[start + i] = one[parent_start + i]
                pw[start + i] = pw[parent_start + i]
        _extend(feat, zero, one, pw, start, depth, zero_fraction, one_fraction, feature, up,
                down)
        if code >= LEAF:
            leaf = code ^ LEAF
            cold_scale = np.nan  # (not `cold`, a record code below: numba's ahead-of-time
            # build types a name reused with another type wrongly when it inlines this twice)
            for i in range(1, depth + 1):
                if one[start + i] != 0:
                    w = _hot_unwound_sum(zero, one, pw, start, depth, i, ratio, down)
                    scale = w * (one[start + i] - zero[start + i])
                else:
                    if cold_scale != cold_scale:
                        cold_scale = -_cold_sum(pw, start, depth, inverse_down)
                    scale = cold_scale
                f = feat[start + i]
                for k in range(leaf_value.shape[1]):
                    phi[col + k, f] += scale * leaf_value[leaf, k]
            continue
        rec = nodes[code]
        split = np.int64(rec.feat & FEATURE)
        hot = _hot(nodes, xb, code, bits, cat_lo)
        cold = rec.right if hot == rec.left else rec.left
        w = split_cover[code]
        hot_zero = (leaf_cover[hot ^ LEAF] if hot >= LEAF else split_cover[hot]) / w
        cold_zero = (leaf_cover[cold ^ LEAF] if cold >= LEAF else split_cover[cold]) / w
        incoming_zero = 1.0
        incoming_one = 1.0
        index = 0
        while index <= depth:
            if feat[start + index] == split:
                break
            index += 1
        if index != depth + 1:
            incoming_zero = zero[start + index]
            incoming_one = one[start + index]
            _unwind(feat, zero, one, pw, start, depth, index)
            depth -= 1
        # cold pushed first: the hot child runs first, as in shap
        for child, z, o in ((cold, cold_zero * incoming_zero, 0.0),
                            (hot, hot_zero * incoming_zero, incoming_one)):
            top += 1
            stack_code[top] = child
            stack_depth[top] = depth + 1
            stack_start[top] = start
            stack_zero[top] = z
            stack_one[top] = o
            stack_feature[top] = split


@numba.njit(nogil=True, cache=True, error_model="numpy")
def tree_shap(X, nodes, roots, out_col, leaf_value, split_cover, leaf_cover, bits, cat_lo,
              zero_below, max_depth, xb, phi, tables):  # pragma: no cover - compiled
    """phi[i, out, f] += contribution of feature f to output `out` of row i, every tree.

    X: float64 rows x features (C order); xb: a block of rows in the thresholds' dtype (the
    predictor's cast and zero flush are redone here); phi: float64 rows x outputs x features,
    zeroed by the caller. Contributions are in leaf_value's units (scale applied, divisor not).
    Block by block, tree by tree, row by row: a tree stays in cache for the block's rows.
    tables: (use, last, slot, leaf_d, leaf_row, leaf_f, offset, table, combo_off, combo_nf,
    combo_feat, combo) of `leaftables`; a tree with use[t] is explained from its combination table
    (combo_off[t] >= 0) or its leaf tables, any other by the recursion.
    """
    (use, last, slot, leaf_d, leaf_row, leaf_f, offset, table, combo_off, combo_nf, combo_feat,
     combo) = tables
    width = leaf_value.shape[1]
    cleared = np.zeros(nodes.shape[0] + 1, dtype=np.int64)
    size = (max_depth + 2) * (max_depth + 3) // 2 + max_depth + 2
    feat = np.empty(size, dtype=np.int64)
    zero = np.empty(size)
    one = np.empty(size)
    pw = np.empty(size)
    frames = 2 * max_depth + 4
    stack_code = np.empty(frames, dtype=np.uint32)
    stack_depth = np.empty(frames, dtype=np.int64)
    stack_start = np.empty(frames, dtype=np.int64)
    stack_zero = np.empty(frames)
    stack_one = np.empty(frames)
    stack_feature = np.empty(frames, dtype=np.int64)
    up, down, ratio, inverse_down = _tables(max_depth)
    flush = zero_below >= 0
    n_rows, n_feat = X.shape
    block = xb.shape[0]
    for start in range(0, n_rows, block):
        b = min(n_rows, start + block) - start
        for r in range(b):
            for j in range(n_feat):
                x = X[start + r, j]
                if flush and abs(x) <= zero_below:
                    x = 0.0
                xb[r, j] = x
        for t in range(roots.shape[0]):
            if use[t] and combo_off[t] >= 0:
                for r in range(b):
                    combo_phi(nodes, xb[r], bits, cat_lo, np.int64(roots[t]), last[t],
                              combo_off[t], combo_nf[t], combo_feat[t], combo, width,
                              out_col[t], phi[start + r])
                continue
            if use[t]:
                for r in range(b):
                    tables_phi(nodes, xb[r], bits, cat_lo, np.int64(roots[t]), last[t], slot,
                               leaf_d, leaf_row, leaf_f, offset, table, leaf_value, out_col[t],
                               phi[start + r], cleared)
                continue
            for r in range(b):
                _tree_phi(nodes, xb[r], bits, cat_lo, split_cover, leaf_cover, leaf_value,
                          out_col[t], phi[start + r], roots[t], feat, zero, one, pw,
                          stack_code, stack_depth, stack_start, stack_zero, stack_one,
                          stack_feature, up, down, ratio, inverse_down)


@numba.njit(nogil=True, cache=True, error_model="numpy")
def expected_values(nodes, roots, out_col, leaf_value, split_cover, leaf_cover,
                    out):  # pragma: no cover - compiled
    """out[out_col[t] + k] += the tree's value with no feature known: each leaf's value times
    the product of cover(child) / cover(parent) down its path (the shares TreeSHAP uses)."""
    n = nodes.shape[0]
    share = np.zeros(n)  # per split record: the product of shares down to it
    tree = np.zeros(n, dtype=np.int64)
    for t in range(roots.shape[0]):
        root = roots[t]
        if root >= LEAF:
            for k in range(leaf_value.shape[1]):
                out[out_col[t] + k] += leaf_value[root ^ LEAF, k]
        else:
            share[root] = 1.0
            tree[root] = t
    for c in range(n):  # parents come before their children
        rec = nodes[c]
        for child in (rec.left, rec.right):
            if child >= LEAF:
                s = share[c] * (leaf_cover[child ^ LEAF] / split_cover[c])
                col = out_col[tree[c]]
                for k in range(leaf_value.shape[1]):
                    out[col + k] += s * leaf_value[child ^ LEAF, k]
            else:
                share[child] = share[c] * (split_cover[child] / split_cover[c])
                tree[child] = tree[c]


@numba.njit(nogil=True, cache=True, error_model="numpy")
def max_depth(nodes, roots):  # pragma: no cover - compiled
    """The deepest leaf's depth over all trees (children come after parents)."""
    n = nodes.shape[0]
    depth = np.zeros(n, dtype=np.int64)
    best = 0
    for t in range(roots.shape[0]):
        if roots[t] < LEAF:
            depth[roots[t]] = 0
    for c in range(n):  # parents precede their children within a tree: one pass
        d = depth[c] + 1
        best = max(best, d)
        for child in (nodes[c].left, nodes[c].right):
            if child < LEAF:
                depth[child] = d
    return best
