"""The `trees` estimator of ratchet-coefficients/1: parse, validate, pack for the kernel, run.

Fields beyond scikit-learn's (all optional, so a file written for scikit-learn loads unchanged):
`strict` (XGBoost: a split sends x left when x < threshold), `accumulate` ("float32": leaves
are float32 numbers summed in float32 in tree order from a float32 `init`, as XGBoost does),
`zero_threshold` (LightGBM: an input with |x| <= it is read as 0) and, per tree,
`missing_zero` (LightGBM's missing type Zero: at that node a zero goes the missing way) and
`category_sets` (per node null, or the categories a category-set split sends left) and
`cover` (per node, the training data that reached it: what exact explanations weigh paths
by; see coefficients/FORMAT.md. A file without covers predicts the same, explains nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.model.linear_leaves import no_linear_leaves, pack_linear_leaves, parse_linear_leaves
from engine.model.reader import Reader
from engine.model.tree_kernel import FEATURE, accumulate_trees, block_rows, pack_trees

TREE_KEYS = {"output", "feature", "threshold", "left", "right", "missing_left", "value",
             "missing_zero", "category_sets", "linear_leaves", "cover"}
MAX_CATEGORY = (1 << 20) - 1  # the largest category a set may hold (a 128 KiB bitset)
MAX_BITSET_WORDS = 1 << 24  # all sets together (offsets must stay exact in float32)
# Below which x is no category: strict (XGBoost) reads only x >= 0, others (LightGBM) truncate
# like C's int cast, so -1 < x < 0 is category 0.
CAT_LO = {True: -float(np.nextafter(np.float32(0), np.float32(1))), False: -1.0}
ENSEMBLE_KEYS = {"kind", "compare", "outputs", "init", "scale", "divisor", "trees", "strict",
                 "accumulate", "zero_threshold"}


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
    leaf_value: np.ndarray  # float64, or float32 when the ensemble accumulates in float32
    init: np.ndarray  # in leaf_value's dtype
    divisor: float
    block: int  # rows per kernel block
    zero_below: float = -1.0  # >= 0: |x| <= zero_below is read as 0
    zero_nodes: bool = False  # some node sends a zero the missing way
    bits: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.uint32))  # sets
    cat_lo: float = -1.0  # x > cat_lo is read as a category
    linear: tuple = field(default_factory=lambda: no_linear_leaves())  # tree_kernel's `linear`
    cover: tuple | None = None  # (per split record, per leaf) training cover; None: not given
    propagates_nan = False  # NaN follows each node's missing direction instead

    @property
    def n_outputs(self) -> int:
        return self.init.shape[0]

    def raw(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        n_rows, n_features = X.shape
        out = np.empty((n_rows, self.n_outputs), dtype=self.leaf_value.dtype)
        out[:] = self.init
        # A column-major matrix (what a DataFrame gives) is read through its transpose, uncopied.
        by_column = X.flags.f_contiguous and not X.flags.c_contiguous
        data = X.T if by_column else np.ascontiguousarray(X)
        scratch = np.empty((max(1, min(self.block, n_rows)), n_features),
                           dtype=self.nodes.dtype["thr"])
        accumulate_trees(data, by_column, self.nodes, self.roots, self.dense, self.out_col,
                         self.leaf_value, out, scratch, self.zero_below, self.zero_nodes,
                         self.bits, self.cat_lo, self.linear)
        out = out.astype(np.float64, copy=False)
        if self.divisor != 1.0:
            out /= self.divisor
        return out

    @classmethod
    def parse(cls, r: Reader, n_features: int) -> TreeEnsemble:
        r.only_keys(ENSEMBLE_KEYS)
        compare = r.child("compare").str({"float32", "float64"})
        strict = r.optional("strict") is not None and r.child("strict").bool()
        acc_r = r.optional("accumulate")
        accumulate = "float64" if acc_r is None else acc_r.str({"float32", "float64"})
        zero_r = r.optional("zero_threshold")
        zero_below = -1.0 if zero_r is None else zero_r.number()
        if zero_r is not None and zero_below < 0:
            raise zero_r.expected("a number >= 0")
        n_out = r.child("outputs").int(1)
        init = r.child("init").floats(n_out)
        scale = r.child("scale").number()
        divisor = r.child("divisor").number()
        if divisor <= 0:
            raise r.child("divisor").expected("a positive number")
        parts = [_parse_tree(t, n_features, n_out) for t in r.child("trees").items(min_length=1)]
        leaf_dtype = np.float64
        if accumulate == "float32":
            leaf_dtype = np.float32
            if scale != 1.0 or divisor != 1.0:
                raise r.child("accumulate").fail("a float32 ensemble needs scale 1 and divisor 1")
            _float32_values(r.child("init"), init)
            for t, (tr, p) in enumerate(zip(r.child("trees").items(), parts, strict=True)):
                _float32_values(tr.child("value"), p[5], f"tree {t}'s values")
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
        zero = np.concatenate([p[7] for p in parts])
        sets = [c for p in parts for c in p[8]]
        if sum(len(c) // 32 + 2 for c in sets if c is not None) > MAX_BITSET_WORDS:
            raise r.child("trees").fail("the category sets are too large together")
        nodes, roots, dense, leaf_value, bits = pack_trees(
            feature=np.concatenate([p[0] for p in parts]),
            threshold=np.concatenate([p[1] for p in parts]),
            left=np.concatenate(shift),
            right=np.concatenate(shift_r),
            missing_left=np.concatenate([p[4] for p in parts]),
            value=np.vstack([p[5] for p in parts]),
            roots=offsets.astype(np.intp),
            scale=scale,
            compare_float32=compare == "float32",
            strict=strict,
            zero_missing=zero,
            leaf_dtype=leaf_dtype,
            category_sets=sets,
        )
        return cls(
            nodes=nodes,
            roots=roots,
            dense=dense,
            out_col=np.array([p[6] for p in parts], dtype=np.intp),
            leaf_value=leaf_value,
            init=init.astype(leaf_dtype),
            divisor=divisor,
            block=block_rows(nodes, leaf_value, n_features),
            zero_below=zero_below,
            zero_nodes=bool(zero[np.concatenate([p[2] for p in parts]) >= 0].any()),
            bits=bits,
            cat_lo=CAT_LO[strict],
            linear=_linear(r, parts, scale, compare, accumulate),
            cover=_covers(r, parts),
        )


def _float32_values(r: Reader, values: np.ndarray, what: str = "the values") -> None:
    exact = values.astype(np.float32).astype(np.float64) == values
    if not exact.all():
        i = int(np.flatnonzero(~exact.ravel())[0])
        raise r.fail(f"{what} of a float32 ensemble must be float32 numbers; item {i} "
                     f"({values.ravel()[i]!r}) is not")


def _parse_tree(r: Reader, n_features: int, n_out: int):
    r.only_keys(TREE_KEYS)
    left = r.child("left").ints(minimum=-1)
    n = len(left)
    if n == 0:
        raise r.child("left").fail("a tree needs at least one node")
    right = r.child("right").ints(n, minimum=-1)
    feature = r.child("feature").ints(n, minimum=-1)
    threshold = r.child("threshold").floats(n, allow_infinite=True)
    missing_left = r.child("missing_left").bools(n)
    zr = r.optional("missing_zero")
    missing_zero = np.zeros(n, dtype=np.uint8) if zr is None else zr.bools(n)
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
    bad_f = ~leaf & ((feature < 0) | (feature >= min(n_features, int(FEATURE) + 1)))
    if bad_f.any():
        i = int(np.flatnonzero(bad_f)[0])
        raise Reader(int(feature[i]), f"{r.path}.feature[{i}]", r.source).fail(
            f"a split node needs a feature between 0 and {n_features - 1}")
    feature = np.where(leaf, 0, feature)
    sets = _category_sets(r.optional("category_sets"), leaf, missing_zero)
    linear = parse_linear_leaves(r.optional("linear_leaves"), leaf, n_features)
    return (feature, threshold, left, right, missing_left, value, output, missing_zero, sets,
            linear, _cover(r.optional("cover"), leaf))


def _cover(r: Reader | None, leaf: np.ndarray) -> np.ndarray | None:
    """Per node the training cover (>= 0; > 0 at a split, which divides by it), or None."""
    if r is None:
        return None
    cover = r.floats(len(leaf))
    bad = (cover < 0) | (~leaf & (cover <= 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise Reader(float(cover[i]), f"{r.path}[{i}]", r.source).expected(
            "a cover > 0 at a split node and >= 0 at a leaf")
    return cover


def _covers(r: Reader, parts) -> tuple | None:
    """(split covers, leaf covers) in the packed order, when every tree has them."""
    given = [p[10] is not None for p in parts]
    if not any(given):
        return None
    if not all(given):
        t = given.index(False)
        raise r.child("trees").fail(f"tree {t} has no cover while tree {given.index(True)} "
                                    "has one: give covers for every tree or for none")
    cover = np.concatenate([p[10] for p in parts])
    split = np.concatenate([p[2] for p in parts]) >= 0
    return np.ascontiguousarray(cover[split]), np.ascontiguousarray(cover[~split])


def _linear(r: Reader, parts, scale: float, compare: str, accumulate: str) -> tuple:
    """The kernel's linear-leaf arrays, leaves in the packed order (all trees, node order)."""
    leaves = [lin for p in parts for lin, is_leaf in zip(p[9], p[2] < 0, strict=True)
              if is_leaf]
    if all(lin is None for lin in leaves):
        return no_linear_leaves()
    if compare != "float64" or accumulate != "float64":
        raise r.child("compare").fail("linear leaves need compare float64 (and no float32 "
                                      "accumulation)")
    if any(p[5].shape[1] != 1 for p in parts):
        raise r.child("trees").fail("linear leaves need one value per node")
    return pack_linear_leaves(leaves, scale)


def _category_sets(r: Reader | None, leaf: np.ndarray, missing_zero: np.ndarray) -> list:
    """Per node None, or the sorted categories (integers 0..MAX_CATEGORY) that go left."""
    if r is None:
        return [None] * len(leaf)
    out = []
    for i, item in enumerate(r.items(len(leaf))):
        if item.value is None:
            out.append(None)
            continue
        if leaf[i]:
            raise item.fail(f"node {i} is a leaf, so its category set must be null")
        if missing_zero[i]:
            raise item.fail(f"node {i} splits on a category set, so missing_zero must be false")
        cats = item.ints(minimum=0)
        if cats.size and cats.max() > MAX_CATEGORY:
            bad = int(np.flatnonzero(cats > MAX_CATEGORY)[0])
            raise Reader(int(cats[bad]), f"{item.path}[{bad}]", item.source).expected(
                f"a category between 0 and {MAX_CATEGORY}")
        if len(np.unique(cats)) != len(cats):
            raise item.fail("a category appears twice in the set")
        out.append(sorted(int(c) for c in cats))
    return out
