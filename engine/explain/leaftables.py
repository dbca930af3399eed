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
    number of distinct path features and, for a leaf of a tabled tree, its row in leaf_f /
    leaf_z (leaf_row; -1 for the others): those features (leaf_f[row, :leaf_d[l]]) and their
    zero fractions; per tree whether it can have tables (every path has at most max_unique
    distinct features and its records are contiguous from its root) and its last split record;
    per leaf its tree. Memory: per record and leaf a few integers, per tabled leaf its row; the
    path state is kept per tree."""
    n = nodes.shape[0]
    n_leaves = leaf_cover.shape[0]
    width = max(1, max_unique)
    slot = np.zeros(n, dtype=np.int64)
    tree = np.full(n, -1, dtype=np.int64)
    leaf_d = np.zeros(n_leaves, dtype=np.int64)
    leaf_row = np.full(n_leaves, -1, dtype=np.int64)
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
    most = 1
    for t in range(n_trees):
        if use[t] and last[t] - np.int64(roots[t]) + 1 != count[t]:
            use[t] = False
        most = max(most, count[t])
    path_d = np.zeros(most, dtype=np.int64)  # per record of the tree: its path's state
    path_f = np.full((most, width), -1, dtype=np.int64)
    path_z = np.ones((most, width))
    rows = 0
    for t in range(n_trees):  # which trees qualify, and their leaves' rows
        if use[t]:
            use[t] = _walk(nodes, np.int64(roots[t]), last[t], split_cover, leaf_cover,
                           max_unique, path_d, path_f, path_z, slot, leaf_d, leaf_row,
                           path_f, path_z, False)
            if use[t]:
                rows = _rows(nodes, np.int64(roots[t]), last[t], leaf_row, rows)
    leaf_f = np.full((rows, width), -1, dtype=np.int64)
    leaf_z = np.ones((rows, width))
    for t in range(n_trees):
        if use[t]:
            _walk(nodes, np.int64(roots[t]), last[t], split_cover, leaf_cover, max_unique,
                  path_d, path_f, path_z, slot, leaf_d, leaf_row, leaf_f, leaf_z, True)
    return slot, leaf_d, leaf_row, leaf_f, leaf_z, use, last, leaf_tree


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _rows(nodes, first, last, leaf_row, rows):  # pragma: no cover - compiled
    """Give the tree's leaves their rows from `rows` on; the next free row."""
    for c in range(first, last + 1):
        for child in (nodes[c].left, nodes[c].right):
            if child >= LEAF:
                leaf_row[child ^ LEAF] = rows
                rows += 1
    return rows


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _walk(nodes, first, last, split_cover, leaf_cover, max_unique, path_d, path_f, path_z,
          slot, leaf_d, leaf_row, leaf_f, leaf_z, write):  # pragma: no cover
    """One tree's records first..last top-down: each record's slot, each leaf's distinct
    features and zero fractions (written to its row when `write`). False when a path has more
    than max_unique distinct features."""
    path_d[0] = 0
    for c in range(first, last + 1):
        at = c - first
        f = np.int64(nodes[c].feat & FEATURE)
        d = path_d[at]
        s = d
        for i in range(d):
            if path_f[at, i] == f:
                s = i
                break
        if s >= max_unique:  # a path with too many distinct features: no tables
            return False
        slot[c] = s
        w = split_cover[c]
        for child in (nodes[c].left, nodes[c].right):
            share = (leaf_cover[child ^ LEAF] if child >= LEAF else split_cover[child]) / w
            z = (path_z[at, s] if s < d else 1.0) * share
            if child >= LEAF:
                k = child ^ LEAF
                leaf_d[k] = max(d, s + 1)
                if write:
                    r = leaf_row[k]
                    for i in range(d):
                        leaf_f[r, i] = path_f[at, i]
                        leaf_z[r, i] = path_z[at, i]
                    leaf_f[r, s] = f
                    leaf_z[r, s] = z
            else:
                b = child - first
                for i in range(d):
                    path_f[b, i] = path_f[at, i]
                    path_z[b, i] = path_z[at, i]
                path_f[b, s] = f
                path_z[b, s] = z
                path_d[b] = max(d, s + 1)
    return True


@numba.njit(nogil=True, cache=True, error_model="numpy")
def fill_tables(leaf_d, leaf_row, leaf_z, offset, table):  # pragma: no cover - compiled
    """table[offset[l] + mask * d + i]: the weight of the leaf's i-th path feature for a row
    that follows the features in `mask` (leaf value not applied); offset[l] < 0: no table."""
    poly = np.zeros(64)
    for leaf in range(leaf_d.shape[0]):
        base = offset[leaf]
        if base < 0:
            continue
        d = leaf_d[leaf]
        row = leaf_row[leaf]
        for mask in range(1 << d):
            for i in range(d):
                # coefficients of prod_{j != i} (o_j t + z_j), t^s: s of them followed
                poly[0] = 1.0
                m = 0
                for j in range(d):
                    if j == i:
                        continue
                    z = leaf_z[row, j]
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
                table[base + mask * d + i] = total * (o_i - leaf_z[row, i])


@numba.njit(nogil=True, cache=True, error_model="numpy")
def fill_combos(nodes, roots, last, use, slot, leaf_d, leaf_row, leaf_f, offset, table,
                leaf_value, max_splits, combo_off, combo_nf, combo_feat,
                combo):  # pragma: no cover
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
                            f = leaf_f[leaf_row[leaf], i]
                            j = 0
                            while combo_feat[t, j] != f:
                                j += 1
                            for k in range(width):
                                combo[row + j * width + k] += table[w + i] * leaf_value[leaf, k]
                    else:
                        cleared[child - first] = b
