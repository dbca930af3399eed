"""Publisher side: a fitted scikit-learn estimator -> the "estimator" part of the coefficient file.

Reads scikit-learn's fitted attributes (including a few private ones whose layout is pinned by
the version in requirements/lock.txt; the parity tests catch any change).
"""

from __future__ import annotations

import numpy as np

from engine.errors import UnsupportedModel
from engine.export.encode import floats, thresholds

SUPPORTED_ESTIMATORS = (
    "LinearRegression, Ridge, RidgeCV, Lasso, LassoCV, ElasticNet, ElasticNetCV, "
    "LogisticRegression, LogisticRegressionCV, OneVsRestClassifier(LogisticRegression), "
    "DecisionTreeClassifier/Regressor, RandomForestClassifier/Regressor, "
    "ExtraTreesClassifier/Regressor, GradientBoostingClassifier/Regressor, "
    "HistGradientBoostingClassifier/Regressor"
)
_LINEAR_REGRESSORS = {"LinearRegression", "Ridge", "RidgeCV", "Lasso", "LassoCV", "ElasticNet",
                      "ElasticNetCV"}
_LOGISTIC = {"LogisticRegression", "LogisticRegressionCV"}
_SINGLE_TREES = {"DecisionTreeClassifier", "DecisionTreeRegressor"}
_FORESTS = {"RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier",
            "ExtraTreesRegressor"}
_GB = {"GradientBoostingClassifier", "GradientBoostingRegressor"}
_HGB = {"HistGradientBoostingClassifier", "HistGradientBoostingRegressor"}
_LINKS = {"IdentityLink": "identity", "LogLink": "exp", "LogitLink": "logistic",
          "HalfLogitLink": "half_logistic", "MultinomialLogit": "softmax"}


def _classes(est) -> tuple[str, list]:
    classes = [c.item() if hasattr(c, "item") else c for c in est.classes_]
    return ("binary" if len(classes) == 2 else "multiclass"), classes


def unsupported(est, why: str = "") -> UnsupportedModel:
    name = type(est).__name__
    reason = f" ({why})" if why else ""
    return UnsupportedModel(
        f"the estimator {name}{reason} cannot be exported. Supported estimators: "
        f"{SUPPORTED_ESTIMATORS}; in front of them Pipeline, ColumnTransformer, StandardScaler, "
        "MinMaxScaler, SimpleImputer, OneHotEncoder and OrdinalEncoder.",
        code="E_UNSUPPORTED_MODEL",
    )


def export_estimator(est) -> dict:
    """Return {"task", "classes"?, "estimator", "link", "decision"} for a fitted estimator."""
    name = type(est).__name__
    if name == "NativeModel":
        return est.convert(est.classes_)
    if name in {"XGBClassifier", "XGBRegressor"}:
        from engine.export import xgb

        return xgb.from_sklearn(est)
    if name in {"LGBMClassifier", "LGBMRegressor"}:
        from engine.export import lgbm

        return lgbm.from_sklearn(est)
    if name in _LINEAR_REGRESSORS:
        coef = np.atleast_2d(est.coef_)
        if coef.shape[0] != 1:
            raise unsupported(est, "more than one target")
        return {"task": "regression", "link": "identity", "decision": "value",
                "estimator": _linear(coef, np.atleast_1d(est.intercept_))}
    if name in _LOGISTIC:
        task, classes = _classes(est)
        link = "logistic" if task == "binary" else "softmax"
        decision = "raw_positive" if task == "binary" else "argmax_raw"
        return {"task": task, "classes": classes, "link": link, "decision": decision,
                "estimator": _linear(est.coef_, est.intercept_)}
    if name == "OneVsRestClassifier":
        return _one_vs_rest(est)
    if name in _SINGLE_TREES | _FORESTS:
        return _forest(est, [est] if name in _SINGLE_TREES else list(est.estimators_))
    if name in _GB:
        return _gradient_boosting(est)
    if name in _HGB:
        return _hist_gradient_boosting(est)
    raise unsupported(est)


def _linear(coef, intercept) -> dict:
    coef = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    return {"kind": "linear", "coef": [floats(row) for row in coef],
            "intercept": floats(np.asarray(intercept, dtype=np.float64).ravel())}


def _one_vs_rest(est) -> dict:
    if any(type(e).__name__ not in _LOGISTIC for e in est.estimators_):
        raise unsupported(est, "only one-vs-rest over LogisticRegression is supported")
    task, classes = _classes(est)
    if task == "binary":
        raise unsupported(est, "a one-vs-rest wrapper around a binary problem")
    coef = np.vstack([e.coef_ for e in est.estimators_])
    intercept = np.concatenate([np.atleast_1d(e.intercept_) for e in est.estimators_])
    return {"task": task, "classes": classes, "link": "ovr_logistic", "decision": "argmax_raw",
            "estimator": _linear(coef, intercept)}


def _tree_arrays(tree, values: np.ndarray, output: int) -> dict:
    return {
        "output": output,
        "feature": [int(f) if left >= 0 else -1
                    for f, left in zip(tree.feature, tree.children_left, strict=True)],
        "threshold": thresholds(np.where(tree.children_left >= 0, tree.threshold, 0.0)),
        "left": [int(v) for v in tree.children_left],
        "right": [int(v) for v in tree.children_right],
        "missing_left": [bool(v) for v in tree.missing_go_to_left],
        "value": [floats(row) for row in values],
        "cover": floats(tree.weighted_n_node_samples),  # what TreeSHAP weighs paths by
    }


def _check_single_output(est) -> None:
    if getattr(est, "n_outputs_", 1) != 1:
        raise unsupported(est, "multi-output models")


def _forest(est, trees) -> dict:
    """Single trees and forests: average of (normalized, for classifiers) leaf values."""
    _check_single_output(est)
    exported = []
    is_classifier = hasattr(est, "classes_")
    for t in trees:
        value = t.tree_.value[:, 0, :]
        if is_classifier:
            # What DecisionTreeClassifier.predict_proba does to a leaf's value, done once here.
            value = value[:, : len(est.classes_)].copy()
            normalizer = value.sum(axis=1)[:, np.newaxis]
            normalizer[normalizer == 0.0] = 1.0
            value /= normalizer
        exported.append(_tree_arrays(t.tree_, value, 0))
    n_out = len(est.classes_) if is_classifier else 1
    ensemble = {"kind": "trees", "compare": "float32", "outputs": n_out,
                "init": [0.0] * n_out, "scale": 1.0, "divisor": float(len(trees)),
                "trees": exported}
    if not is_classifier:
        return {"task": "regression", "link": "identity", "decision": "value",
                "estimator": ensemble}
    task, classes = _classes(est)
    return {"task": task, "classes": classes, "link": "proba", "decision": "argmax_proba",
            "estimator": ensemble}


def _gradient_boosting(est) -> dict:
    init = est.init_
    if not (init == "zero" or type(init).__name__ in {"DummyClassifier", "DummyRegressor"}):
        raise unsupported(est, f"a custom init estimator {type(init).__name__}")
    n_features = est.n_features_in_
    # The init estimator's raw prediction is constant: take it from scikit-learn itself.
    baseline = est._raw_predict_init(np.zeros((1, n_features), dtype=np.float32))[0]
    stages = []
    for stage in est.estimators_:
        for k, tree in enumerate(stage):
            stages.append(_tree_arrays(tree.tree_, tree.tree_.value[:, 0, :1], k))
    ensemble = {"kind": "trees", "compare": "float32", "outputs": len(baseline),
                "init": floats(baseline), "scale": float(est.learning_rate), "divisor": 1.0,
                "trees": stages}
    # GradientBoostingClassifier predicts class 1 when raw >= 0.
    return _boosted(est, ensemble, binary_decision="raw_nonnegative")


def _hgb_tree(predictor, output: int) -> dict:
    nodes = predictor.nodes
    leaf = nodes["is_leaf"].astype(bool)
    return {
        "output": output,
        "feature": [-1 if lf else int(f) for f, lf in zip(nodes["feature_idx"], leaf, strict=True)],
        "threshold": thresholds(np.where(leaf, 0.0, nodes["num_threshold"])),
        "left": [-1 if lf else int(v) for v, lf in zip(nodes["left"], leaf, strict=True)],
        "right": [-1 if lf else int(v) for v, lf in zip(nodes["right"], leaf, strict=True)],
        "missing_left": [bool(v) for v in nodes["missing_go_to_left"]],
        "value": [[float(v)] for v in nodes["value"]],
        "cover": [float(c) for c in nodes["count"]],
    }


def _hist_gradient_boosting(est) -> dict:
    if est.is_categorical_ is not None and np.any(est.is_categorical_):
        raise unsupported(est, "native categorical features; encode them with OneHotEncoder "
                               "or OrdinalEncoder in a Pipeline instead")
    trees = [_hgb_tree(p, k) for iteration in est._predictors for k, p in enumerate(iteration)]
    baseline = np.asarray(est._baseline_prediction, dtype=np.float64).ravel()
    ensemble = {"kind": "trees", "compare": "float64", "outputs": len(baseline),
                "init": floats(baseline), "scale": 1.0, "divisor": 1.0, "trees": trees}
    # HistGradientBoostingClassifier predicts class 1 only when raw > 0.
    return _boosted(est, ensemble, binary_decision="raw_positive")


def _boosted(est, ensemble: dict, binary_decision: str) -> dict:
    """Task, link and decision of a boosted model, from its loss."""
    link = _LINKS[type(est._loss.link).__name__]
    if not hasattr(est, "classes_"):
        return {"task": "regression", "link": link, "decision": "value", "estimator": ensemble}
    task, classes = _classes(est)
    decision = binary_decision if task == "binary" else "argmax_raw"
    return {"task": task, "classes": classes, "link": link, "decision": decision,
            "estimator": ensemble}
