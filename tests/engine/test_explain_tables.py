"""The leaf-table TreeSHAP variant (engine/explain/leaftables.py) against the recursion it
replaces for shallow trees, on random packed trees with missing values, zero-is-missing,
float32 thresholds, category sets, repeated features on a path, zero-cover leaves and multiple
outputs; and against shap and LightGBM's own contributions on fitted models."""

from __future__ import annotations

import lightgbm
import numpy as np
import pytest
import shap
from sklearn import ensemble

from engine.explain import trees
from engine.explain.trees import leaf_tables, tree_contributions
from engine.model.tree_kernel import FEATURE, LEAF, block_rows, pack_trees
from engine.model.trees import CAT_LO, TreeEnsemble
from tests.engine.categorical_kit import as_pandas_categories, categorical_data
from tests.engine.conftest import frame, roundtrip
from tests.engine.explain_kit import EXACT, assert_additive, explain_frame

N_FEATURES = 7
CATEGORY_COLUMNS = (5, 6)  # codes 0..9 (and NaN) in the random rows


def _random_tree(rng, depth: int, features: int, out: dict) -> None:
    """Append one tree (pre-order: children after parents) to the parallel arrays in out."""
    def grow(level: int) -> tuple[int, float]:
        node = len(out["left"])
        for key in out:
            out[key].append(None)
        if level == depth or (level > 1 and rng.random() < 0.2):
            out["left"][node] = out["right"][node] = -1
            out["feature"][node], out["threshold"][node] = 0, 0.0
            out["missing"][node], out["zero"][node], out["sets"][node] = False, False, None
            out["value"][node] = rng.normal(size=out["width"][0])
            out["cover"][node] = float(rng.integers(0, 4))  # some leaves saw no data
            return node, out["cover"][node]
        f = int(rng.integers(0, features))  # few features: a path repeats some
        out["feature"][node] = f
        out["missing"][node] = bool(rng.random() < 0.5)
        out["zero"][node] = bool(rng.random() < 0.2)
        out["value"][node] = np.zeros(out["width"][0])
        if f in CATEGORY_COLUMNS and rng.random() < 0.7:
            out["sets"][node] = sorted(rng.choice(10, int(rng.integers(1, 6)), replace=False))
            out["threshold"][node] = 0.0
        else:
            out["sets"][node] = None
            out["threshold"][node] = float(rng.choice([0.0, -0.5, 0.3, 1.0, 4.5]))
        left, c_left = grow(level + 1)
        right, c_right = grow(level + 1)
        out["left"][node], out["right"][node] = left, right
        out["cover"][node] = max(c_left + c_right, 1.0)
        return node, out["cover"][node]

    grow(0)


def random_ensemble(seed: int, depths: list[int], width: int = 1, outputs: int = 1,
                    features: int = N_FEATURES, float32: bool = False) -> TreeEnsemble:
    rng = np.random.default_rng(seed)
    out = {k: [] for k in ("feature", "threshold", "left", "right", "missing", "zero", "sets",
                           "value", "cover")}
    out["width"] = [width]
    roots, out_col = [], []
    for t, depth in enumerate(depths):
        roots.append(len(out["left"]))
        out_col.append(t % outputs if width == 1 else 0)
        _random_tree(rng, depth, features, out)
    left = np.array(out["left"], dtype=np.int64)
    nodes, root_codes, dense, leaf_value, bits = pack_trees(
        feature=np.array(out["feature"], dtype=np.int64),
        threshold=np.array(out["threshold"]), left=left,
        right=np.array(out["right"], dtype=np.int64),
        missing_left=np.array(out["missing"]), value=np.array(out["value"]),
        roots=np.array(roots, dtype=np.intp), scale=1.0, compare_float32=float32,
        zero_missing=np.array(out["zero"]), category_sets=out["sets"])
    cover = np.array(out["cover"])
    return TreeEnsemble(
        nodes=nodes, roots=root_codes, dense=dense, out_col=np.array(out_col, dtype=np.intp),
        leaf_value=leaf_value, init=np.full(max(outputs, width), 0.25), divisor=1.0,
        block=block_rows(nodes, leaf_value, N_FEATURES), bits=bits, cat_lo=CAT_LO[False],
        zero_nodes=True, cover=(cover[left >= 0], cover[left < 0]))


def random_rows(seed: int, n: int = 400) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FEATURES))
    X[rng.random(X.shape) < 0.2] = 0.0
    X[:, 1] = np.round(X[:, 1] * 2) / 2  # ties with the thresholds
    for c in CATEGORY_COLUMNS:
        X[:, c] = rng.integers(0, 10, n)
    X[rng.random(X.shape) < 0.15] = np.nan
    return X


CASES = {
    "shallow": dict(depths=[1, 2, 3, 3, 4] * 6),
    "depth-6": dict(depths=[5, 6] * 5, float32=True),
    "multiclass": dict(depths=[3] * 12, outputs=3),
    "vector-leaves": dict(depths=[4] * 8, width=2),
    "mixed-deep": dict(depths=[3, 9, 2, 10] * 3, features=N_FEATURES),
}


@pytest.mark.parametrize("name", list(CASES))
def test_tables_equal_the_recursion_on_random_trees(name):
    est = random_ensemble(17, **CASES[name])
    X = random_rows(5)
    use = leaf_tables(est, 6)[0]
    assert use.any()
    if name == "mixed-deep":
        assert not use.all()  # the deep trees keep the recursion, in the same call
    else:
        assert use.all()
    base_old, old = tree_contributions(est, X, table_depth=0)
    base_new, new = tree_contributions(est, X)
    assert np.abs(old).max() > 0.1
    np.testing.assert_allclose(new, old, rtol=0, atol=EXACT)
    np.testing.assert_array_equal(base_new, base_old)
    np.testing.assert_allclose(base_new + new.sum(axis=2), est.raw(X), rtol=0, atol=EXACT)


@pytest.mark.parametrize("name", ["shallow", "vector-leaves", "multiclass"])
def test_combination_tables_equal_leaf_tables(name, monkeypatch):
    """Trees of few split records are explained from their whole contribution per
    combination of directions; the same trees from leaf tables only give the same."""
    est = random_ensemble(23, **CASES[name])
    X = random_rows(6)
    combos = leaf_tables(est, 6)[8] >= 0
    assert combos.any()
    with_combos = tree_contributions(est, X)[1]
    monkeypatch.setattr(trees, "COMBO_SPLITS", 0)
    monkeypatch.setattr(trees, "_cache", [None])
    assert not (leaf_tables(est, 6)[8] >= 0).any()
    np.testing.assert_allclose(with_combos, tree_contributions(est, X)[1], rtol=0, atol=EXACT)


def _most_distinct_on_a_path(est: TreeEnsemble, code: int, seen: frozenset = frozenset()):
    if code >= LEAF:
        return len(seen)
    rec = est.nodes[code]
    seen = seen | {int(rec["feat"] & FEATURE)}
    return max(_most_distinct_on_a_path(est, int(rec[side]), seen) for side in ("left", "right"))


@pytest.mark.parametrize("limit", [0, 2, 4, 6])
def test_trees_with_more_distinct_features_on_a_path_keep_the_recursion(limit):
    est = random_ensemble(3, depths=[2, 3, 5, 8, 9, 4, 1, 6])
    use = leaf_tables(est, limit)[0]
    expected = [0 < _most_distinct_on_a_path(est, int(r)) <= limit for r in est.roots]
    assert use.tolist() == expected


def test_depth_five_gradient_boosting_equals_shap_from_tables():
    rng = np.random.default_rng(2)
    X = frame(rng.normal(size=(800, 10)))
    y = X["x0"] * X["x1"] + np.sin(X["x2"] * 2) + X["x3"] + 0.1 * rng.normal(size=800)
    holes = X.mask(rng.random(X.shape) < 0.1)
    fitted = ensemble.HistGradientBoostingRegressor(max_iter=25, max_depth=5,
                                                    random_state=0).fit(holes, y)
    model, _ = roundtrip(fitted, holes, y)
    assert leaf_tables(model.estimator, 6)[0].all()
    ours = explain_frame(model, holes)
    theirs = shap.TreeExplainer(fitted, feature_perturbation="tree_path_dependent"
                                ).shap_values(holes)
    np.testing.assert_allclose(ours.contributions[:, 0, :], theirs, rtol=0, atol=EXACT)
    assert_additive(model, holes, ours)


def test_lightgbm_category_sets_equal_its_pred_contrib_from_tables():
    X, y = categorical_data("binary")
    trained = as_pandas_categories(X)
    fitted = lightgbm.LGBMClassifier(n_estimators=20, num_leaves=8, max_depth=4, verbose=-1,
                                     n_jobs=1).fit(trained, y)
    model, _ = roundtrip(fitted, X, y)
    assert leaf_tables(model.estimator, 6)[0].all()
    ours = explain_frame(model, X)
    theirs = fitted.booster_.predict(trained, pred_contrib=True)
    np.testing.assert_allclose(ours.contributions[:, 0, :], theirs[:, :-1], rtol=0, atol=EXACT)
    assert_additive(model, X, ours)
