"""Publisher side: an XGBoost model (a saved .json / .ubj document, or XGBClassifier /
XGBRegressor) -> the "estimator" part of the coefficient file, bit for bit as XGBoost predicts.

How XGBoost predicts (3.x, CPU), and how each step is carried (measured in the parity tests):
- Inputs are cast to float32; a split sends x left when x < split_condition (float32) ->
  `compare: float32`, `strict`. NaN (and a cell equal to the `missing` parameter, compared in
  float32) takes default_left -> `missing_left` and the `missing_value` step.
- The margin starts from base_score turned into a margin in float32 (logistic objectives:
  -log(1/p - 1); poisson, gamma, tweedie: log(p); others: as stored; the 3.x vector form gives
  one per class) and adds each tree's float32 leaf in tree order, in float32 ->
  `accumulate: float32`, `init`.
- DART multiplies each tree by its weight. Booster.predict(DMatrix) adds float32(leaf * w);
  inplace_predict (what XGBClassifier / XGBRegressor.predict use) adds
  float32(float32(float32(base + leaf) - base) * w), base being the tree's class's margin.
  The two differ in the last bit; each is a per-leaf constant, exported for the path the
  publisher's model predicts with.
- Output: sigmoid, softmax and exp in float32 -> the `*_float32` links.
- A categorical split (split_type 1) sends a missing value the default way, and a category
  (float32 x >= 0, truncated) in the node's set RIGHT, anything else left -> `category_sets`
  with the children swapped. A pandas categorical is fed as its code in the training
  categories (3.x stores them: `cats`); XGBoost refuses an unseen one -> "categorical" with
  `unknown_category` "error".
"""

from __future__ import annotations

import itertools
import json
import math
from collections import deque

import numpy as np

from engine.errors import UnsupportedModel
from engine.export.covers import all_or_no_covers

# objective -> (task, link, decision)
OBJECTIVES = {
    "binary:logistic": ("binary", "logistic_float32", "argmax_proba"),
    "reg:logistic": ("regression", "logistic_float32", "value"),
    "reg:squarederror": ("regression", "identity", "value"),
    "reg:absoluteerror": ("regression", "identity", "value"),
    "multi:softprob": ("multiclass", "softmax_float32", "argmax_proba"),
    "multi:softmax": ("multiclass", "softmax_numpy_float32", "argmax_raw"),
    "count:poisson": ("regression", "exp_float32", "value"),
    "reg:tweedie": ("regression", "exp_float32", "value"),
    "reg:gamma": ("regression", "exp_float32", "value"),
}
SUPPORTED = (f"XGBoost objectives {', '.join(OBJECTIVES)}; boosters gbtree and dart; "
             "numerical and categorical splits")
F32 = np.float32


def unsupported(what: str) -> UnsupportedModel:
    return UnsupportedModel(f"this XGBoost model uses {what}, which Ratchet cannot export. "
                            f"Supported: {SUPPORTED}.", code="E_UNSUPPORTED_MODEL")


def objective_task(doc: dict) -> str:
    name = doc["learner"]["objective"]["name"]
    if name not in OBJECTIVES:
        raise unsupported(f"the objective {name!r}")
    return OBJECTIVES[name][0]


def base_margin(objective: str, base_score: str, n_out: int) -> list[float]:
    """XGBoost's float32 base margin per output, from the stored base_score text."""
    text = base_score.strip()
    values = json.loads(text.replace("E", "e")) if text.startswith("[") else [float(text)]
    p = np.array(values, dtype=F32)
    if p.size == 1 and n_out > 1:
        p = np.repeat(p, n_out)
    if p.size != n_out:
        raise unsupported(f"{p.size} base scores for {n_out} outputs")
    if objective in {"binary:logistic", "reg:logistic"}:
        odds = (F32(1) / p).astype(F32) - F32(1)
        margin = -(np.log(odds.astype(np.float64)).astype(F32))
    elif objective in {"count:poisson", "reg:tweedie", "reg:gamma"}:
        margin = np.log(p.astype(np.float64)).astype(F32)
    else:
        margin = p
    if not np.isfinite(margin).all():
        raise unsupported(f"base_score {base_score} (no finite margin)")
    return [float(v) for v in margin]


def _tree(tree: dict, output: int, leaf_map) -> dict:
    if int(tree["tree_param"].get("size_leaf_vector", "1")) > 1:
        raise unsupported("vector leaves (multi_strategy='multi_output_tree')")
    left, right = tree["left_children"], tree["right_children"]
    sets = _category_sets(tree)
    # Renumber breadth first from the root: children after parents, deleted nodes dropped.
    order, index, queue = [], {}, deque([0])
    while queue:
        n = queue.popleft()
        index[n] = len(order)
        order.append(n)
        if left[n] != -1:
            queue.extend((left[n], right[n]))
    cond = tree["split_conditions"]
    out = {"output": output, "feature": [], "threshold": [], "left": [], "right": [],
           "missing_left": [], "value": []}
    for n in order:
        leaf = left[n] == -1
        swap = n in sets  # a category in the set goes right in XGBoost, left in the format
        out["feature"].append(-1 if leaf else int(tree["split_indices"][n]))
        out["threshold"].append(0.0 if leaf or swap else _finite(cond[n]))
        out["left"].append(-1 if leaf else index[(right if swap else left)[n]])
        out["right"].append(-1 if leaf else index[(left if swap else right)[n]])
        out["missing_left"].append(bool(tree["default_left"][n]) != swap and not leaf)
        out["value"].append([leaf_map(_finite(cond[n])) if leaf else 0.0])
    if sets:
        out["category_sets"] = [sets.get(n) for n in order]
    # Each node's sum of hessians: what XGBoost's own TreeSHAP weighs paths by.
    hess = [float(tree["sum_hessian"][n]) for n in order] if "sum_hessian" in tree else []
    if hess and all(h >= 0 for h in hess) and all(
            h > 0 for h, f in zip(hess, out["feature"], strict=True) if f >= 0):
        out["cover"] = hess
    return out


def _category_sets(tree: dict) -> dict[int, list[int]]:
    """node -> its category set, for the categorical splits of a tree."""
    nodes = tree.get("categories_nodes", [])
    kinds = tree.get("split_type", [])
    if sum(1 for t in kinds if t != 0) != len(nodes) or any(t not in (0, 1) for t in kinds):
        raise unsupported("a categorical tree whose split types do not match its category sets")
    cats, segs, sizes = (tree.get(k, []) for k in ("categories", "categories_segments",
                                                    "categories_sizes"))
    return {int(n): sorted(int(c) for c in cats[int(b):int(b) + int(k)])
            for n, b, k in zip(nodes, segs, sizes, strict=True)}


def categories(doc: dict) -> list:
    """[[feature, categories or None], ...] for the features XGBoost treats as categorical:
    the training categories (code order) where the model stores them (3.x), else None."""
    learner = doc["learner"]
    types = learner.get("feature_types", [])
    booster = learner["gradient_booster"]
    model = booster["model"] if booster["name"] == "gbtree" else booster["gbtree"]["model"]
    enc = (model.get("cats") or {}).get("enc") or []
    out = []
    for f, kind in enumerate(types):
        if kind != "c":
            continue
        cats = None
        if f < len(enc) and enc[f].get("values"):
            item = enc[f]
            if "offsets" in item:  # text: UTF-8 bytes, one slice per category
                raw, offs = bytes(item["values"]), item["offsets"]
                cats = [raw[a:b].decode("utf-8") for a, b in itertools.pairwise(offs)]
            else:
                cats = [v if isinstance(v, int) else float(v) for v in item["values"]]
        out.append([f, cats])
    return out


def _finite(v) -> float:
    v = float(F32(v))
    if not math.isfinite(v):
        raise unsupported("a NaN or infinite split condition or leaf")
    return v


def convert(doc: dict, classes: list | None, dart_inplace: bool) -> dict:
    """{"task", "classes"?, "estimator", "link", "decision"} for a saved XGBoost document."""
    learner = doc["learner"]
    objective = learner["objective"]["name"]
    task, link, decision = OBJECTIVES.get(objective) or (None, None, None)
    if task is None:
        raise unsupported(f"the objective {objective!r}")
    params = learner["learner_model_param"]
    if int(params.get("num_target", "1")) > 1:
        raise unsupported("several targets")
    booster = learner["gradient_booster"]
    if booster["name"] not in {"gbtree", "dart"}:
        raise unsupported(f"the booster {booster['name']!r}")
    model = booster["model"] if booster["name"] == "gbtree" else booster["gbtree"]["model"]
    weights = booster.get("weight_drop") if booster["name"] == "dart" else None
    n_out = max(1, int(params.get("num_class", "0")))
    init = base_margin(objective, params["base_score"], n_out)
    trees = []
    for t, (tree, group) in enumerate(zip(model["trees"], model["tree_info"], strict=True)):
        leaf_map = _identity
        if weights is not None:
            leaf_map = _dart_leaf(F32(weights[t]), F32(init[group]), dart_inplace)
        trees.append(_tree(tree, int(group), leaf_map))
    if not trees:
        raise unsupported("no trees")
    ensemble = {"kind": "trees", "compare": "float32", "strict": True, "accumulate": "float32",
                "outputs": n_out, "init": init, "scale": 1.0, "divisor": 1.0,
                "trees": all_or_no_covers(trees)}
    out = {"task": task, "link": link, "decision": decision, "estimator": ensemble,
           "categorical": categories(doc), "unknown_category": "error"}
    if task != "regression":
        want = 2 if task == "binary" else n_out
        if classes is None or len(classes) != want:
            found = "none" if classes is None else len(classes)
            raise UnsupportedModel(f"the XGBoost model predicts {want} classes but the "
                                   f"sample's target has {found}; give the training sample.",
                                   "E_CLASSES")
        out["classes"] = classes
    return out


def _identity(v: float) -> float:
    return v


def _dart_leaf(w, base, inplace: bool):
    def leaf(v: float) -> float:
        v = F32(v)
        if inplace:  # the tree predicted from its class's base margin, which is then taken off
            v = F32(F32(base + v) - base)
        return float(F32(v * w))
    return leaf


def from_sklearn(est) -> dict:
    """XGBClassifier / XGBRegressor: the estimator part, with "steps" it adds at the end."""
    if callable(getattr(est, "objective", None)):
        raise unsupported("a custom objective function")
    booster = est.get_booster()
    try:
        best = est.best_iteration
    except AttributeError:
        best = None
    if best is not None:
        booster = booster[: best + 1]
    doc = json.loads(bytes(booster.save_raw("json")))
    classes = None
    if hasattr(est, "classes_"):
        classes = [c.item() if hasattr(c, "item") else c for c in est.classes_]
    out = convert(doc, classes, dart_inplace=True)
    if (classes is None) != (out["task"] == "regression"):
        raise unsupported(f"the objective {doc['learner']['objective']['name']!r} in a "
                          f"{type(est).__name__}")
    out["steps"] = missing_steps(est.missing)
    if out["steps"] and out["categorical"]:
        raise unsupported("categorical features together with a non-NaN missing value")
    return out


def missing_steps(missing) -> list:
    """XGBoost's `missing` parameter other than NaN: such cells become missing (in float32)."""
    if missing is None or (isinstance(missing, float) and math.isnan(missing)):
        return []
    if not math.isfinite(float(missing)):
        raise unsupported(f"missing={missing!r}")
    return [{"op": "missing_value", "value": float(missing), "compare": "float32"}]
