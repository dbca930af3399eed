"""Estimators of ratchet-coefficients/1: linear models and tree ensembles.

Each turns the preprocessed matrix into raw scores (n_rows x n_outputs); `outputs.py` turns
raw scores into predictions and probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.model.reader import Reader
from engine.model.tree_kernel import accumulate_trees, block_rows, pack_trees


@dataclass(frozen=True, slots=True)
class Linear:
    """raw = X @ coef.T + intercept (one row of coef per output)."""

    coef: np.ndarray
    intercept: np.ndarray
    # Any NaN input makes a NaN score, so missing inputs can be found from the scores.
    propagates_nan = True

    @property
    def n_outputs(self) -> int:
        return self.coef.shape[0]

    def raw(self, X: np.ndarray) -> np.ndarray:
        if self.coef.shape[0] == 1:
            # One output: a matrix-vector product, as scikit-learn computes it for 1-d coef_.
            return (X @ self.coef[0] + self.intercept[0])[:, None]
        return X @ self.coef.T + self.intercept

    @classmethod
    def parse(cls, r: Reader, n_features: int) -> Linear:
        r.only_keys({"kind", "coef", "intercept"})
        coef = r.child("coef").matrix(cols=n_features)
        if coef.shape[0] == 0:
            raise r.child("coef").fail("expected at least one row of coefficients")
        return cls(coef, r.child("intercept").floats(coef.shape[0]))


@dataclass(frozen=True, slots=True)
class TreeEnsemble:
    """Trees packed for the compiled kernel (layout and rationale: `tree_kernel`).

    raw = (init + sum over trees of scale * leaf value) / divisor. Tree t adds its leaf's values
    to the outputs starting at `out_col[t]`; `leaf_value` already holds scale * value.
    """

    nodes: np.ndarray  # split-node records, tree_kernel.node_dtype (float32 or float64 thr)
    roots: np.ndarray  # per tree: the root's code (a leaf code for a one-node tree)
    dense: np.ndarray  # per tree: levels above its shallowest leaf
    out_col: np.ndarray
    leaf_value: np.ndarray
    init: np.ndarray
    divisor: float
    block: int  # rows per kernel block
    propagates_nan = False  # NaN follows each node's missing direction instead

    @property
    def n_outputs(self) -> int:
        return self.init.shape[0]

    def raw(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        n_rows, n_features = X.shape
        out = np.empty((n_rows, self.n_outputs))
        out[:] = self.init
        # A column-major matrix (what a DataFrame gives) is read through its transpose, uncopied.
        by_column = X.flags.f_contiguous and not X.flags.c_contiguous
        data = X.T if by_column else np.ascontiguousarray(X)
        scratch = np.empty((max(1, min(self.block, n_rows)), n_features),
                           dtype=self.nodes.dtype["thr"])
        accumulate_trees(data, by_column, self.nodes, self.roots, self.dense, self.out_col,
                         self.leaf_value, out, scratch)
        if self.divisor != 1.0:
            out /= self.divisor
        return out

    @classmethod
    def parse(cls, r: Reader, n_features: int) -> TreeEnsemble:
        r.only_keys({"kind", "compare", "outputs", "init", "scale", "divisor", "trees"})
        compare = r.child("compare").str({"float32", "float64"})
        n_out = r.child("outputs").int(1)
        init = r.child("init").floats(n_out)
        scale = r.child("scale").number()
        divisor = r.child("divisor").number()
        if divisor <= 0:
            raise r.child("divisor").expected("a positive number")
        parts = [_parse_tree(t, n_features, n_out) for t in r.child("trees").items(min_length=1)]
        width = parts[0][5].shape[1]
        offsets = np.cumsum([0] + [len(p[0]) for p in parts[:-1]])
        for t, p in enumerate(parts):
            if p[5].shape[1] != width:
                raise r.child("trees").fail(
                    f"tree {t} has {p[5].shape[1]} values per node, tree 0 has {width}")
            if p[6] + width > n_out:
                raise r.child("trees").fail(
                    f"tree {t} writes outputs {p[6]}..{p[6] + width - 1} of only {n_out}")
        shift = [np.where(p[2] >= 0, p[2] + o, -1) for p, o in zip(parts, offsets, strict=True)]
        shift_r = [np.where(p[3] >= 0, p[3] + o, -1) for p, o in zip(parts, offsets, strict=True)]
        nodes, roots, dense, leaf_value = pack_trees(
            feature=np.concatenate([p[0] for p in parts]),
            threshold=np.concatenate([p[1] for p in parts]),
            left=np.concatenate(shift),
            right=np.concatenate(shift_r),
            missing_left=np.concatenate([p[4] for p in parts]),
            value=np.vstack([p[5] for p in parts]),
            roots=offsets.astype(np.intp),
            scale=scale,
            compare_float32=compare == "float32",
        )
        return cls(
            nodes=nodes,
            roots=roots,
            dense=dense,
            out_col=np.array([p[6] for p in parts], dtype=np.intp),
            leaf_value=leaf_value,
            init=init,
            divisor=divisor,
            block=block_rows(nodes, leaf_value, n_features),
        )


def _parse_tree(r: Reader, n_features: int, n_out: int):
    r.only_keys({"output", "feature", "threshold", "left", "right", "missing_left", "value"})
    left = r.child("left").ints(minimum=-1)
    n = len(left)
    if n == 0:
        raise r.child("left").fail("a tree needs at least one node")
    right = r.child("right").ints(n, minimum=-1)
    feature = r.child("feature").ints(n, minimum=-1)
    threshold = r.child("threshold").floats(n, allow_infinite=True)
    missing_left = r.child("missing_left").bools(n)
    value = r.child("value").matrix(rows=n)
    output = r.child("output").int(0, n_out - 1)
    nodes = np.arange(n)
    leaf = left < 0
    # Children must come after their parent: this makes every walk end (no cycles).
    for name, child in (("left", left), ("right", right)):
        bad = ~leaf & ((child <= nodes) | (child >= n))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise Reader(int(child[i]), f"{r.path}.{name}[{i}]", r.source).fail(
                f"node {i}'s {name} child must be a later node of this tree (after {i}, below {n})")
    if (right[leaf] >= 0).any():
        i = int(np.flatnonzero(leaf & (right >= 0))[0])
        raise Reader(int(right[i]), f"{r.path}.right[{i}]", r.source).fail(
            f"node {i} is a leaf (left is -1), so right must be -1 too")
    bad_f = ~leaf & ((feature < 0) | (feature >= n_features))
    if bad_f.any():
        i = int(np.flatnonzero(bad_f)[0])
        raise Reader(int(feature[i]), f"{r.path}.feature[{i}]", r.source).fail(
            f"a split node needs a feature between 0 and {n_features - 1}")
    feature = np.where(leaf, 0, feature)
    return feature, threshold, left, right, missing_left, value, output


ESTIMATORS = {"linear": Linear.parse, "trees": TreeEnsemble.parse}
