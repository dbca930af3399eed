"""The compiled tree-ensemble kernel and the node layout it walks. The walk itself is in
tree_walk (compiled ahead of time, else by numba: see the end of this file).

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

from pathlib import Path

import numpy as np

from engine.model import aot
from engine.model.tree_codes import (  # noqa: F401 - the layout's codes, named here as before
    CATEGORICAL,
    FEATURE,
    LEAF,
    MISSING_LEFT,
    ZERO_MISSING,
)

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
        # (bincount, not np.unique: unique's first call imports numpy.ma, ~10 ms of start-up)
        done = np.bincount(tree[left[nodes] < 0], minlength=len(roots)) > 0
        dense[done] = depth
        keep = ~done[tree]
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


# ---------------------------------------------------------------- the compiled walk
#
# tree_walk.accumulate_trees, compiled ahead of time (engine/model/_tree_aot, built by
# installer/kernels.py: `make setup`, the installer) for each pair of threshold and accumulator
# types; numba's just-in-time build of the same source stands in where that module is missing,
# stale (its stamp is not the hash of tree_walk.py and tree_codes.py beside it) or the arguments
# are not of the compiled types. An installed app ships no sources: its module is trusted, being
# built with the app.

AOT_MODULE = "_tree_aot"
AOT_VARIANTS = (("float32", "float32"), ("float32", "float64"), ("float64", "float32"),
                ("float64", "float64"))  # (thresholds, accumulator)
AOT_SOURCES = ("tree_walk.py", "tree_codes.py")
AOT_BUILD = 2  # raised when installer/kernels.py builds differently (2: releases the GIL)
_compiled: dict = {}


def aot_name(thr: str, acc: str) -> str:
    return f"accumulate_{thr}_{acc}"


def source_stamp(folder: Path | None = None) -> int | None:
    """The walk's sources' hash as a positive int64 (None: no sources here, a frozen app)."""
    folder = folder or Path(__file__).parent
    return aot.source_stamp((folder / name for name in AOT_SOURCES), f"build {AOT_BUILD}\n")


def aot_module():
    """The ahead-of-time kernel when it is there and built from these sources, else None."""
    if "aot" not in _compiled:
        _compiled["aot"] = aot.current_module(f"engine.model.{AOT_MODULE}", source_stamp())
    return _compiled["aot"]


def _aot_fits(args: tuple, thr: np.dtype, acc: np.dtype) -> bool:
    """The compiled variants take C-contiguous arrays of exactly these types (an extension
    module does not check them)."""
    X, _, nodes, roots, dense, out_col, leaf_value, out, xb, _, _, bits, _, linear = args
    want = ((X, np.float64, 2), (nodes, node_dtype(thr), 1), (roots, np.uint32, 1),
            (dense, np.int64, 1), (out_col, np.int64, 1), (leaf_value, acc, 2),
            (bits, np.uint32, 1), (linear[0], np.int64, 1), (linear[1], np.int64, 1),
            (linear[2], np.float64, 1), (linear[3], np.float64, 1))
    return all(aot.array_fits(a, t, d) for a, t, d in want) \
        and aot.array_fits(out, acc, 2, writable=True) and aot.array_fits(xb, thr, 2, True)


def accumulate_trees(*args) -> None:
    """tree_walk.accumulate_trees (its arguments and what it adds to `out`), run by the
    ahead-of-time kernel when it fits, else by numba."""
    nodes, leaf_value = args[2], args[6]
    thr, acc = nodes.dtype["thr"], leaf_value.dtype
    aot = aot_module()
    if aot is not None and _aot_fits(args, thr, acc):
        getattr(aot, aot_name(thr.name, acc.name))(*args)
        return
    from engine.model.tree_walk import accumulate_trees as jit

    jit(*args)


def __getattr__(name: str):
    """The walk's compiled helpers (_next, _walk), for other numba code that steps through
    the same records (engine/explain): loaded with numba only when asked for."""
    if name in ("_next", "_walk"):
        from engine.model import tree_walk

        return getattr(tree_walk, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
