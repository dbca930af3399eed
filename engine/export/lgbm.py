"""Publisher side: a LightGBM model (text model or LGBMClassifier / LGBMRegressor) -> the
"estimator" part of the coefficient file, exactly as LightGBM predicts.

How LightGBM predicts (include/LightGBM/tree.h, c_api.cpp, 4.x), and how each step is carried:
- A dense input row keeps only cells with |x| > kZeroThreshold (1e-35f) or NaN; the others are
  read as 0.0 -> the ensemble's `zero_threshold`.
- A numerical split compares `x <= threshold` in float64 -> `compare: float64`, not strict.
- Missing type None: NaN is read as 0.0 -> NaN goes where 0.0 goes (`missing_left` = 0 <= t).
  Zero: NaN and 0.0 go the default way -> `missing_zero`. NaN: NaN goes the default way.
- Raw score: the trees' leaves summed in float64 in tree order, from 0 (boost_from_average is
  already in the first tree); `rf` divides by the number of iterations -> `divisor`.
- Output: binary 1 / (1 + exp(-sigmoid * raw)); multiclass softmax; multiclassova one sigmoid
  per class, not normalised; poisson, gamma, tweedie exp(raw); regression, l1, huber raw.
- linear_tree: a leaf with features predicts leaf_const + sum of leaf_coeff * x (in order, in
  float64), or its leaf_value when one of those x is NaN -> `linear_leaves`.
- A categorical split (decision_type bit 0) sends NaN right, and int(x) (C's truncation) left
  when its bit is set in the node's bitset (cat_threshold), else right (negative: right)
  -> `category_sets`, missing right. A pandas categorical column is fed as its code in the
  training categories (`pandas_categorical`), an unseen or missing category as NaN
  -> "categorical" (the exporter puts an ordinal step in front).
"""

from __future__ import annotations

import math

import numpy as np

from engine.errors import UnsupportedModel
from engine.export.covers import all_or_no_covers
from engine.export.encode import floats, thresholds
from engine.export.lgbm_text import LgbModel, LgbTree, parse_lightgbm_text

K_ZERO_THRESHOLD = float(np.float32(1e-35))
# objective -> (task, link); LightGBM writes the canonical name of any alias it was given.
OBJECTIVES = {
    "binary": ("binary", "logistic"),
    "regression": ("regression", "identity"),
    "regression_l1": ("regression", "identity"),
    "huber": ("regression", "identity"),
    "multiclass": ("multiclass", "softmax"),
    "multiclassova": ("multiclass", "ovr_sigmoid"),
    "poisson": ("regression", "exp"),
    "tweedie": ("regression", "exp"),
    "gamma": ("regression", "exp"),
}
BOOSTING = ("gbdt", "dart", "rf")
SUPPORTED = (f"LightGBM objectives {', '.join(OBJECTIVES)}; boosting {', '.join(BOOSTING)}; "
             "numerical and categorical splits; linear_tree")


def unsupported(what: str) -> UnsupportedModel:
    return UnsupportedModel(f"this LightGBM model uses {what}, which Ratchet cannot export. "
                            f"Supported: {SUPPORTED}.", code="E_UNSUPPORTED_MODEL")


def from_sklearn(est) -> dict:
    """LGBMClassifier / LGBMRegressor: its booster's text (best iteration, as predict uses)."""
    if callable(getattr(est, "objective", None)):
        raise unsupported("a custom objective function")
    model = parse_lightgbm_text(est.booster_.model_to_string())
    classes = None
    if hasattr(est, "classes_"):
        classes = [c.item() if hasattr(c, "item") else c for c in est.classes_]
    return convert(model, classes)


def convert(model: LgbModel, classes: list | None) -> dict:
    """{"task", "classes"?, "estimator", "link", "decision"} for a parsed text model."""
    if model.objective not in OBJECTIVES:
        raise unsupported(f"the objective {model.objective!r}")
    if "sqrt" in model.objective_params:
        raise unsupported("reg_sqrt (a square-root transformed target)")
    if model.boosting not in BOOSTING:
        raise unsupported(f"the boosting type {model.boosting!r}")
    task, link = OBJECTIVES[model.objective]
    n_out = model.trees_per_iteration
    if n_out != (model.num_class if task == "multiclass" else 1):
        raise unsupported(f"{n_out} trees per iteration for {model.num_class} classes")
    if len(model.trees) % n_out:
        raise unsupported("an incomplete last iteration")
    scale = float(model.objective_params.get("sigmoid", "1")) if link in {
        "logistic", "ovr_sigmoid"} else 1.0
    if not (math.isfinite(scale) and scale > 0):
        raise unsupported(f"sigmoid {scale}")
    iterations = len(model.trees) // n_out
    ensemble = {"kind": "trees", "compare": "float64", "outputs": n_out, "init": [0.0] * n_out,
                "scale": scale, "divisor": float(iterations) if model.average_output else 1.0,
                "zero_threshold": K_ZERO_THRESHOLD,
                "trees": all_or_no_covers([_tree(t, k % n_out)
                                           for k, t in enumerate(model.trees)])}
    out = {"task": task, "link": link, "estimator": ensemble,
           "decision": "value" if task == "regression" else "argmax_proba",
           "categorical": _categorical(model)}
    if task != "regression":
        if classes is None or len(classes) != max(2, model.num_class):
            found = "none" if classes is None else len(classes)
            raise UnsupportedModel(
                f"the LightGBM model predicts {max(2, model.num_class)} classes but the "
                f"sample's target has {found}; give the training sample.", "E_CLASSES")
        out["classes"] = classes
    return out


def _linear_leaves(tree: LgbTree, leaf_value: list[float]) -> list | None:
    """LightGBM's linear leaves: per leaf None or {"const", "features", "coeffs"}; a leaf
    without features predicts its const, which then becomes its value."""
    if not tree.is_linear:
        return None
    const, counts = tree.floats("leaf_const"), tree.ints("num_features")
    features, coeffs = tree.ints("leaf_features"), tree.floats("leaf_coeff")
    if not (len(const) == len(counts) == tree.num_leaves
            and len(features) == len(coeffs) == sum(counts)):
        raise unsupported("a linear tree whose leaf arrays do not match its num_leaves")
    out, at = [], 0
    for k, n in enumerate(counts):
        if n == 0:
            leaf_value[k] = const[k]
            out.append(None)
        else:
            out.append({"const": floats([const[k]])[0], "features": features[at:at + n],
                        "coeffs": floats(coeffs[at:at + n])})
        at += n
    return out


def _tree(tree: LgbTree, output: int) -> dict:
    leaf_value = tree.floats("leaf_value")
    linear = _linear_leaves(tree, leaf_value)
    if tree.num_leaves == 1:
        return {"output": output, "feature": [-1], "threshold": [0.0], "left": [-1],
                "right": [-1], "missing_left": [False], "value": [floats(leaf_value[:1])],
                **({"linear_leaves": linear[:1]} if linear and linear[0] else {}),
                "cover": [1.0]}  # one leaf: no path to weigh
    n_int = tree.num_leaves - 1
    decision = tree.ints("decision_type")
    threshold = tree.floats("threshold")
    feature = tree.ints("split_feature")
    if not (len(decision) == len(threshold) == len(feature) == n_int
            and len(leaf_value) == tree.num_leaves):
        raise unsupported("a tree whose arrays do not match its num_leaves")

    def node(c: int) -> int:
        return c if c >= 0 else n_int + ~c

    missing_left, missing_zero, sets = [], [], []
    bounds, words = tree.ints("cat_boundaries"), tree.ints("cat_threshold")
    for d, t in zip(decision, threshold, strict=True):
        kind = (d >> 2) & 3
        sets.append(None)
        if d & 1:  # categorical: NaN and anything not in the set go right
            sets[-1] = _bitset(bounds, words, int(t))
            missing_left.append(False)
            missing_zero.append(False)
            continue
        if kind == 0:  # None: NaN is read as 0.0
            missing_left.append(t >= 0.0)
        else:  # Zero or NaN: the default direction
            missing_left.append(bool(d & 2))
        missing_zero.append(kind == 1)
    leaves = [False] * tree.num_leaves
    return {
        "output": output,
        "feature": feature + [-1] * tree.num_leaves,
        "threshold": thresholds(threshold) + [0.0] * tree.num_leaves,
        "left": [node(c) for c in tree.ints("left_child")] + [-1] * tree.num_leaves,
        "right": [node(c) for c in tree.ints("right_child")] + [-1] * tree.num_leaves,
        "missing_left": missing_left + leaves,
        "missing_zero": missing_zero + leaves,
        "value": [[0.0]] * n_int + [[v] for v in floats(leaf_value)],
        **({"category_sets": sets + [None] * tree.num_leaves}
           if any(c is not None for c in sets) else {}),
        **({"linear_leaves": [None] * n_int + linear}
           if linear and any(lin is not None for lin in linear) else {}),
        **_cover(tree, n_int),
    }


def _cover(tree: LgbTree, n_int: int) -> dict:
    """The training rows through each node (what LightGBM's own TreeSHAP weighs paths by);
    nothing when the model file lacks the counts or a split saw no row."""
    cover = tree.floats("internal_count") + tree.floats("leaf_count")
    if len(cover) != n_int + tree.num_leaves or min(cover[:n_int]) <= 0 or min(cover) < 0:
        return {}
    return {"cover": cover}


def _bitset(bounds: list[int], words: list[int], index: int) -> list[int]:
    """The categories whose bit is set in the node's bitset (cat_threshold words)."""
    if not 0 <= index < len(bounds) - 1 or bounds[index + 1] > len(words):
        raise unsupported("a categorical split whose bitset is missing")
    out = []
    for w, word in enumerate(words[bounds[index]:bounds[index + 1]]):
        out.extend(32 * w + b for b in range(32) if word >> b & 1)
    return out


def _categorical(model: LgbModel) -> list:
    """[[feature, categories or None], ...]: the categorical features, with the training
    categories of a pandas categorical (whose code LightGBM uses) or None (the column holds
    the category numbers themselves)."""
    features = model.categorical_features
    pandas = model.pandas_categorical or []
    if pandas and len(pandas) != len(features):
        raise unsupported(f"{len(pandas)} pandas categorical columns besides other "
                          f"categorical_feature columns ({len(features)} in all)")
    if not pandas:
        return [[f, None] for f in features]
    return [[f, list(cats)] for f, cats in zip(features, pandas, strict=True)]
