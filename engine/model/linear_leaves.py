"""Linear leaves of the `trees` estimator (LightGBM's linear_tree): parse and pack.

Per tree, `linear_leaves` holds one entry per node: null, or on a leaf
{"const": c, "features": [j, ...], "coeffs": [w, ...]}. Such a leaf adds
const + w1 * x[j1] + w2 * x[j2] + ... (float64, in that order, x as the kernel reads it: after
`zero_threshold`) instead of its `value`; when one of those x is missing (NaN) it adds its
`value` after all, as LightGBM does.
"""

from __future__ import annotations

import numpy as np

from engine.model.reader import Reader

MAX_LEAF_FEATURES = 4096


def no_linear_leaves() -> tuple:
    return (np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0),
            np.zeros(0), 1.0)


def parse_linear_leaves(r: Reader | None, leaf: np.ndarray, n_features: int) -> list:
    """Per node None or (const, features, coeffs)."""
    if r is None:
        return [None] * len(leaf)
    out = []
    for i, item in enumerate(r.items(len(leaf))):
        if item.value is None:
            out.append(None)
            continue
        if not leaf[i]:
            raise item.fail(f"node {i} is a split, so its linear model must be null")
        item.only_keys({"const", "features", "coeffs"})
        features = item.child("features").ints(minimum=0)
        if len(features) > MAX_LEAF_FEATURES:
            raise item.child("features").fail(f"at most {MAX_LEAF_FEATURES} features")
        if features.size and features.max() >= n_features:
            bad = int(np.flatnonzero(features >= n_features)[0])
            raise Reader(int(features[bad]), f"{item.path}.features[{bad}]", item.source).fail(
                f"the estimator receives only {n_features} columns")
        coeffs = item.child("coeffs").floats(len(features))
        out.append((item.child("const").number(), features, coeffs))
    return out


def pack_linear_leaves(leaves: list, scale: float) -> tuple:
    """Leaves (in the kernel's leaf order) -> (ptr, feature, coeff, const, scale)."""
    ptr = np.zeros(len(leaves) + 1, dtype=np.int64)
    const = np.zeros(len(leaves))
    feats, coefs = [], []
    for k, lin in enumerate(leaves):
        n = 0
        if lin is not None:
            const[k], f, w = lin
            feats.append(f)
            coefs.append(w)
            n = len(f)
        ptr[k + 1] = ptr[k] + n
    feat = np.concatenate(feats).astype(np.int64) if feats else np.zeros(0, dtype=np.int64)
    coef = np.concatenate(coefs) if coefs else np.zeros(0)
    return ptr, feat, coef, const, float(scale)
