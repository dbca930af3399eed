"""Path-dependent TreeSHAP for shallow trees by per-leaf tables ("Fast TreeSHAP v2", Yang 2021).

For a leaf whose root path tests d distinct features, TreeSHAP's contribution of the path's
i-th feature depends on the row only through which of the path's features the row "follows"
(every test on that feature sends the row towards this leaf; one_fraction 1, else 0):

    phi_i = v * (o_i - z_i) * sum_{S subset of O \\ {i}} |S|! (d - |S| - 1)! / d!
                                * prod_{j not in S, j != i} z_j

with O the followed features and z_j the product of cover(child) / cover(parent) over the
path's tests on feature j (the same zero and one fractions as shap's path, duplicates merged as
its unwind does). So per leaf and per subset O (a d-bit mask) the d weights are computed once
(`leaf_tables`: the sum over S as the coefficients of prod_{j != i} (o_j t + z_j), O(d^2) per
weight, no division), and a row needs, per tree, one test per split node and, per leaf, d
look-ups: O(leaves x depth) instead of O(leaves x depth^2) with a long dependent chain.

A feature's slot in its leaf's table is the order in which it first appears on the path, so a
node's slot is the same for every leaf below it: a row's mask is built top-down, the child the
row does not take clearing its node's slot bit (`treeshap.tables_phi`: the per-row functions
live beside the cached driver that inlines them, as numba's cache only watches that file).
Trees with more than `max_unique` distinct features on a path, or whose split records are not
contiguous, keep the recursive algorithm (treeshap); `use` says which trees have tables.
"""

from __future__ import annotations

import numba
import numpy as np

from engine.model.tree_codes import FEATURE, LEAF


@numba.njit(nogil=True, cache=True, error_model="numpy")
def path_slots(nodes, roots, split_cover, leaf_cover, max_unique):  # pragma: no cover
    """Per split record its feature's slot on its path (first appearance order); per leaf its
    path's distinct features (leaf_feat[l, :leaf_d[l]]) and their zero fractions; per tree
    whether it can have tables (every path has at most max_unique distinct features and its
    records are contiguous from its root) and its last split record; per leaf its tree."""
    n = nodes.shape[0]
    n_leaves = leaf_cover.shape[0]
    width = max(1, max_unique)
    slot = np.zeros(n, dtype=np.int64)
    path_d = np.zeros(n, dtype=np.int64)  # distinct features on the path to the record
    path_f = np.full((n, width), -1, dtype=np.int64)
    path_z = np.ones((n, width))
    tree = np.full(n, -1, dtype=np.int64)
    leaf_d = np.zeros(n_leaves, dtype=np.int64)
    leaf_f = np.full((n_leaves, width), -1, dtype=np.int64)
    leaf_z = np.ones((n_leaves, width))
    leaf_tree = np.full(n_leaves, -1, dtype=np.int64)
    n_trees = roots.shape[0]
    use = np.zeros(n_trees, dtype=np.bool_)
    last = np.full(n_trees, -1, dtype=np.int64)
    count = np.zeros(n_trees, dtype=np.int64)
    for t in range(n_trees):
        if roots[t] < LEAF:
            use[t] = max_unique > 0
            tree[roots[t]] = t
        else:
            leaf_tree[roots[t] ^ LEAF] = t
    for c in range(n):  # parents come before their children
        t = tree[c]
        if t < 0:
            continue
        count[t] += 1
        last[t] = max(last[t], c)
        for child in (nodes[c].left, nodes[c].right):
            if child >= LEAF:
                leaf_tree[child ^ LEAF] = t
            else:
                tree[child] = t
        if not use[t]:
            continue
        f = np.int64(nodes[c].feat & FEATURE)
        d = path_d[c]
        s = d
        for i in range(d):
            if path_f[c, i] == f:
                s = i
                break
        if s >= max_unique:  # a path with too many distinct features: no tables
            use[t] = False
            continue
        slot[c] = s
        w = split_cover[c]
        for child in (nodes[c].left, nodes[c].right):
            share = (leaf_cover[child ^ LEAF] if child >= LEAF else split_cover[child]) / w
            if child >= LEAF:
                k = child ^ LEAF
                for i in range(d):
                    leaf_f[k, i] = path_f[c, i]
                    leaf_z[k, i] = path_z[c, i]
                leaf_f[k, s] = f
                leaf_z[k, s] = (path_z[c, s] if s < d else 1.0) * share
                leaf_d[k] = max(d, s + 1)
            else:
                for i in range(d):
                    path_f[child, i] = path_f[c, i]
                    path_z[child, i] = path_z[c, i]
                path_f[child, s] = f
                path_z[child, s] = (path_z[c, s] if s < d else 1.0) * share
                path_d[child] = max(d, s + 1)
    for t in range(n_trees):
        if use[t] and last[t] - np.int64(roots[t]) + 1 != count[t]:
            use[t] = False
    return slot, leaf_d, leaf_f, leaf_z, use, last, leaf_tree


@numba.njit(nogil=True, cache=True, error_model="numpy")
def fill_tables(leaf_d, leaf_z, offset, table):  # pragma: no cover - compiled
    """table[offset[l] + mask * d + i]: the weight of the leaf's i-th path feature for a row
    that follows the features in `mask` (leaf value not applied); offset[l] < 0: no table."""
    poly = np.zeros(64)
    for leaf in range(leaf_d.shape[0]):
        base = offset[leaf]
        if base < 0:
            continue
        d = leaf_d[leaf]
        for mask in range(1 << d):
            for i in range(d):
                # coefficients of prod_{j != i} (o_j t + z_j), t^s: s of them followed
                poly[0] = 1.0
                m = 0
                for j in range(d):
                    if j == i:
                        continue
                    z = leaf_z[leaf, j]
                    o = 1.0 if (mask >> j) & 1 else 0.0
                    poly[m + 1] = 0.0
                    for s in range(m + 1, 0, -1):
                        poly[s] = poly[s] * z + poly[s - 1] * o
                    poly[0] *= z
                    m += 1
                # sum_s poly[s] s! (d - 1 - s)! / d!, the weight built up without factorials
                total = 0.0
                w = 1.0 / d  # s = 0: (d - 1)! / d!
                for s in range(d):
                    total += poly[s] * w
                    w *= (s + 1) / (d - 1 - s) if s + 1 < d else 0.0
                o_i = 1.0 if (mask >> i) & 1 else 0.0
                table[base + mask * d + i] = total * (o_i - leaf_z[leaf, i])


@numba.njit(nogil=True, cache=True, error_model="numpy")
def fill_combos(nodes, roots, last, use, slot, leaf_d, leaf_f, offset, table, leaf_value,
                max_splits, combo_off, combo_nf, combo_feat, combo):  # pragma: no cover
    """For a tabled tree of at most max_splits split records (combo_off[t] >= 0), its whole
    contribution for every combination of the directions its records send a row (bit c - root
    set: record c sends it left): combo[combo_off[t] + (bits * nf + i) * width + k] for the
    tree's i-th distinct feature, combo_feat[t, i], and output k. A row then needs one test
    per record and nf look-ups (`treeshap.combo_phi`). The sums are the leaf tables' weights
    times the leaf values, leaf after leaf."""
    width = leaf_value.shape[1]
    cleared = np.zeros(max(1, max_splits), dtype=np.int64)
    for t in range(roots.shape[0]):
        at = combo_off[t]
        if at < 0:
            continue
        first = np.int64(roots[t])
        nf = combo_nf[t]
        for bits in range(1 << (last[t] - first + 1)):
            row = at + bits * nf * width
            cleared[0] = 0
            for c in range(first, last[t] + 1):
                rec = nodes[c]
                bad = cleared[c - first]
                hot = rec.left if (bits >> (c - first)) & 1 else rec.right
                off = np.int64(1) << slot[c]
                for child in (rec.left, rec.right):
                    b = bad if child == hot else bad | off
                    if child >= LEAF:
                        leaf = child ^ LEAF
                        d = leaf_d[leaf]
                        w = offset[leaf] + (((np.int64(1) << d) - 1) ^ b) * d
                        for i in range(d):
                            f = leaf_f[leaf, i]
                            j = 0
                            while combo_feat[t, j] != f:
                                j += 1
                            for k in range(width):
                                combo[row + j * width + k] += table[w + i] * leaf_value[leaf, k]
                    else:
                        cleared[child - first] = b
