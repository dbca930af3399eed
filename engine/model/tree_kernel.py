"""The compiled tree-ensemble kernel (numba) and the node layout it walks.

Layout (built once at load time by `pack_trees`):
- Only split nodes are stored, one 16-byte record each (24 with float64 thresholds):
  threshold, feature (bit 31: a missing value goes left), left child, right child. A child
  whose bit 31 is set is a leaf: the low bits index `leaf_value`, whose rows are the leaf
  values already multiplied by the ensemble's scale (the same float64 product the kernel used
  to take per row, so sums are unchanged to the last bit).
- Trees that compare in float32 (scikit-learn's trees, forests and GradientBoosting cast X to
  float32 and test float32(x) <= float64 threshold) store the threshold rounded down to float32:
  for a float32 x, x <= t exactly when x <= rounddown32(t). HistGradientBoosting compares float64
  x with the float64 threshold, so its records keep float64.

Walk: rows go through in blocks. Each block is first copied (and cast for float32 models) into
a scratch matrix, which also tells whether the block holds any NaN; a NaN-free block runs a
comparison without the missing-value test. Then tree by tree, the block's rows advance one level
per pass: for the first `dense[t]` levels (the tree's shallowest leaf, so no row can stop there)
every row steps; after that only the rows still inside the tree, kept in a compacted list. Each
step is branch-free (a select between the two children), and the rows of a pass are
independent, so the CPU overlaps many of them instead of waiting on one walk's cache misses and
mispredicted branches. The leaf values are then added row by row, tree by tree, in tree order,
as scikit-learn adds them, so the sums match scikit-learn's to the last bit. No fastmath.

Measured (one thread, kernel only, ours / scikit-learn's predict_proba or predict; details and
the end-to-end table in bench/predict_kernel.py). The earlier walk (each row to its leaf in a
branchy while-loop, parallel arrays, blocks of 512 rows) was 1.3x on RandomForest(max_depth=10),
1.7x on GradientBoosting and 2.3-3.1x on full-depth forests; a 16-byte record with the same
branchy walk reached 0.9x / 1.05x. This walk, at 1,000,000 x 20 rows: DecisionTree 0.5x,
RandomForest 0.4x (regressor 0.2x), ExtraTrees 0.4x, GradientBoosting 0.35-0.55x,
HistGradientBoosting 0.3x; with 5% NaN (the NaN-aware pass) 0.4-0.7x. Variants measured and
dropped: float64 records for every model (10-20% slower on forests), always testing for NaN
(15-40% slower), no dense levels (10-30% slower), fusing the list build into the last dense
level (no gain), a fixed-depth branch-free walk per row (deep forests 1.3x), and interleaving
4 rows by hand (1.2-1.8x).

Block size: every block re-reads the trees it walks, so big forests (a full-depth
RandomForestRegressor is ~30 MB of nodes) want large blocks (200,000 rows: 2.1 s in blocks of
1024 rows, 0.7 s in blocks of 65536), while small ensembles want blocks whose rows stay in the
L2 cache (HistGradientBoosting: 0.29 s with 2048 rows, 0.45 s with 65536). `block_rows` picks
between them from the forest's size.
"""

from __future__ import annotations

import numba
import numpy as np

LEAF = np.uint32(1 << 31)  # in a child or root code: the low bits index leaf_value
MISSING_LEFT = np.uint32(1 << 31)  # in a record's feat: a missing value goes left
ZERO_MISSING = np.uint32(1 << 30)  # in a record's feat: a zero goes where a missing value goes
CATEGORICAL = np.uint32(1 << 29)  # in a record's feat: a category-set split (thr: its bitset)
FEATURE = np.uint32((1 << 29) - 1)  # in a record's feat: the low bits are the feature index
MAX_DENSE = 32  # levels looked at for the shallowest leaf (a bound, not a limit on depth)
SCRATCH_BYTES = 8 << 20  # the block copy of X stays below this
MIN_BLOCK, MAX_BLOCK = 2048, 65536
FOREST_BYTES_PER_ROW = 256  # blocks hold at least forest bytes / 256 rows (see block_rows)


def node_dtype(float_type) -> np.dtype:
    return np.dtype([("thr", float_type), ("feat", np.uint32), ("left", np.uint32),
                     ("right", np.uint32)], align=True)


def pack_trees(feature, threshold, left, right, missing_left, value, roots, scale,
               compare_float32, strict=False, zero_missing=None, leaf_dtype=np.float64,
               category_sets=None):
    """Validated parallel arrays (all trees, children after parents, leaves -1) -> the layout.

    `strict` splits (x < t, XGBoost) become x <= the next value below t in the compared type,
    the same test for every non-NaN x. `zero_missing` marks nodes where a zero input goes the
    missing way (LightGBM's missing type Zero). `category_sets` (None, or per node None or the
    categories that go left) makes category-set splits: their record's thr is the offset in
    the bitset array of [word count, words...]. Returns (nodes, root codes, dense levels per
    tree, leaf values times scale in `leaf_dtype`, bitsets).
    """
    split = left >= 0
    splits, leaves = np.flatnonzero(split), np.flatnonzero(~split)
    code = np.empty(len(left), dtype=np.int64)
    code[splits] = np.arange(len(splits))
    code[leaves] = np.arange(len(leaves)) | int(LEAF)
    threshold = threshold[splits]
    if compare_float32:
        nodes = np.zeros(len(splits), dtype=node_dtype(np.float32))
        with np.errstate(over="ignore"):
            t32 = threshold.astype(np.float32)
        above = t32.astype(np.float64) > threshold
        if strict:  # x < t for float32 x: x <= the float32 below t (or below rounddown32(t))
            above |= t32.astype(np.float64) == threshold
        t32[above] = np.nextafter(t32[above], np.float32(-np.inf))
        nodes["thr"] = t32
    else:
        nodes = np.zeros(len(splits), dtype=node_dtype(np.float64))
        nodes["thr"] = np.nextafter(threshold, -np.inf) if strict else threshold
    flags = missing_left[splits].astype(np.int64) << 31
    if zero_missing is not None:
        flags |= zero_missing[splits].astype(np.int64) << 30
    bits = [0]
    if category_sets is not None:
        for k, node in enumerate(splits):
            cats = category_sets[node]
            if cats is None:
                continue
            flags[k] |= int(CATEGORICAL)
            nodes["thr"][k] = len(bits)
            words = np.zeros(int(max(cats, default=-1)) // 32 + 1, dtype=np.uint64)
            for c in cats:
                words[c >> 5] |= np.uint64(1) << np.uint64(c & 31)
            bits.append(len(words))
            bits.extend(int(w) for w in words)
            bits[0] += 1
    nodes["feat"] = feature[splits] | flags
    nodes["left"] = code[left[splits]]
    nodes["right"] = code[right[splits]]
    leaf_value = np.ascontiguousarray((value[leaves] * scale).astype(leaf_dtype))
    dense = _shallowest_leaf(left, right, roots)
    return (nodes, code[roots].astype(np.uint32), dense, leaf_value,
            np.array(bits, dtype=np.uint32))


def _shallowest_leaf(left, right, roots) -> np.ndarray:
    """Per tree, the depth of its shallowest leaf (at most MAX_DENSE): levels with no leaf."""
    dense = np.full(len(roots), MAX_DENSE, dtype=np.intp)
    nodes, tree = np.asarray(roots), np.arange(len(roots))
    for depth in range(MAX_DENSE):
        done = np.unique(tree[left[nodes] < 0])
        dense[done] = depth
        keep = ~np.isin(tree, done)
        nodes, tree = nodes[keep], tree[keep]
        if not len(nodes):
            break
        # Children are unique in a well-formed tree; np.unique keeps a shared child counted once.
        nodes, first = np.unique(np.concatenate([left[nodes], right[nodes]]), return_index=True)
        tree = np.concatenate([tree, tree])[first]
    return dense


def block_rows(nodes: np.ndarray, leaf_value: np.ndarray, n_features: int) -> int:
    """Rows per block: enough that re-reading the forest per block costs little per row."""
    rows = (nodes.nbytes + leaf_value.nbytes) // FOREST_BYTES_PER_ROW
    rows = min(max(rows, MIN_BLOCK), MAX_BLOCK)
    row_bytes = max(1, n_features) * nodes.dtype["thr"].itemsize
    return int(max(256, min(rows, SCRATCH_BYTES // row_bytes)))


@numba.njit(nogil=True, inline="always")
def _next(nodes, xb, r, c, mode, bits, cat_lo):  # pragma: no cover - compiled
    """mode 0: no NaN in the block; 1: NaN possible; 2: NaN or a zero-is-missing node's zero;
    3: as 2, and category-set splits: x > cat_lo is category int(x) (C's truncation), which
    goes left when its bit is set; anything else (not a category, beyond the set) goes right."""
    rec = nodes[c]
    f = rec.feat
    x = xb[r, f & FEATURE]
    if mode == 3 and (f & CATEGORICAL) != 0:
        if x != x:
            go_left = f >= MISSING_LEFT
        else:
            start = np.intp(rec.thr)
            go_left = False
            if x > cat_lo and x < bits[start] * 32.0:
                k = np.intp(x)
                go_left = ((bits[start + 1 + (k >> 5)] >> (k & 31)) & 1) != 0
    elif mode == 0:
        go_left = x <= rec.thr
    elif mode == 1:
        # NaN fails x <= thr and then goes left only if the record's missing bit is set.
        go_left = (x <= rec.thr) | ((x != x) & (f >= MISSING_LEFT))
    else:
        miss = (x != x) | ((x == 0) & ((f & ZERO_MISSING) != 0))
        go_left = ((x <= rec.thr) & ~miss) | (miss & (f >= MISSING_LEFT))
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
