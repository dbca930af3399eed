"""engine.metrics equals scikit-learn's metrics to 1e-12; expected values come from sklearn now."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LinearRegression, LogisticRegression

from engine.errors import EngineError
from engine.metrics import GREATER_IS_BETTER, METRICS, compute

TOL = 1e-12
SEEDS = [0, 1, 2, 3, 4]
LABEL_METRICS = ["accuracy", "precision", "recall", "f1", "false_positive_rate"]
PROBA_METRICS = ["roc_auc", "log_loss", "brier"]
VALUE_METRICS = ["mae", "rmse", "r2", "mape"]


# ---------------------------------------------------------------- scikit-learn's values

def sk_value(metric, y, yp=None, proba=None, classes=None, pos=1):
    """The value scikit-learn gives for our metric (its warnings silenced, values kept)."""
    classes = list(classes) if classes is not None else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if metric in VALUE_METRICS:
            fn = {"mae": skm.mean_absolute_error, "rmse": skm.root_mean_squared_error,
                  "r2": skm.r2_score, "mape": skm.mean_absolute_percentage_error}[metric]
            return fn(y, yp)
        binary = len(classes) == 2
        label = classes[pos]
        if metric == "accuracy":
            return skm.accuracy_score(y, yp)
        if metric in ("precision", "recall", "f1"):
            fn = {"precision": skm.precision_score, "recall": skm.recall_score,
                  "f1": skm.f1_score}[metric]
            if binary:
                return fn(y, yp, pos_label=label)
            return fn(y, yp, average="macro", labels=classes)
        if metric == "false_positive_rate":
            neg = classes[1 - pos]
            tn, fp, _fn, _tp = skm.confusion_matrix(y, yp, labels=[neg, label]).ravel()
            return fp / (fp + tn) if fp + tn else 0.0
        if metric == "roc_auc":
            if binary:
                return skm.roc_auc_score(np.asarray(y) == label, proba[:, pos])
            return skm.roc_auc_score(y, proba, multi_class="ovr", labels=classes)
        if metric == "log_loss":
            return skm.log_loss(y, proba, labels=classes)
        if metric == "brier":
            if binary:
                return skm.brier_score_loss(y, proba[:, pos], pos_label=label)
            return skm.brier_score_loss(y, proba, labels=classes)
    raise AssertionError(metric)


def ours(metric, y, yp=None, proba=None, classes=None, pos=1):
    positive = None if classes is None or pos == 1 else list(classes)[pos]
    return compute(metric, y, yp, proba, classes, positive=positive)


def assert_same(a, b):
    if isinstance(b, float) and math.isnan(b):
        assert math.isnan(a), (a, b)
    else:
        assert abs(a - b) <= TOL, (a, b, a - b)


def check_all(y, yp, proba, classes, pos=1, metrics=None):
    k = len(classes)
    for metric in metrics or LABEL_METRICS + PROBA_METRICS:
        if metric == "false_positive_rate" and k > 2:
            continue
        got = ours(metric, y, yp, proba, classes, pos)
        want = sk_value(metric, y, yp, proba, classes, pos)
        assert isinstance(got, float)
        assert_same(got, want)


# ---------------------------------------------------------------- random data

def random_case(seed, classes, n=300, ties=True, y_probs=None):
    rng = np.random.default_rng(seed)
    k = len(classes)
    raw = rng.random((n, k)) ** 2
    proba = raw / raw.sum(axis=1, keepdims=True)
    if ties:  # few distinct values so many probabilities tie
        proba = np.round(proba, 1)
        proba[:, -1] = 1 - proba[:, :-1].sum(axis=1)
        proba = np.clip(proba, 0, 1)
        proba = proba / proba.sum(axis=1, keepdims=True)
    cls = np.asarray(classes)
    y = cls[rng.choice(k, size=n, p=y_probs)]
    yp = cls[np.argmax(proba + rng.normal(0, 0.2, proba.shape), axis=1)]
    return y, yp, proba


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("classes", [[0, 1], ["no", "yes"], [-1, 1]])
@pytest.mark.parametrize("ties", [True, False])
def test_binary_random(seed, classes, ties):
    y, yp, proba = random_case(seed, classes, ties=ties)
    check_all(y, yp, proba, classes)


@pytest.mark.parametrize("seed", SEEDS)
def test_binary_positive_first_class(seed):
    y, yp, proba = random_case(seed, ["a", "b"], y_probs=[0.3, 0.7])
    check_all(y, yp, proba, ["a", "b"], pos=0)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("classes", [[0, 1, 2], ["x", "y", "z", "w"]])
@pytest.mark.parametrize("ties", [True, False])
def test_multiclass_random(seed, classes, ties):
    classes = sorted(classes)
    y, yp, proba = random_case(seed, classes, ties=ties)
    check_all(y, yp, proba, classes)


def test_one_dimensional_binary_proba_is_positive_class():
    y, _, proba = random_case(7, [0, 1], ties=False)
    for metric in PROBA_METRICS:
        assert_same(compute(metric, y, proba=proba[:, 1], classes=[0, 1]),
                    sk_value(metric, y, proba=proba, classes=[0, 1]))


# ---------------------------------------------------------------- edge cases

def test_perfect_predictions():
    y = np.array([0, 1, 1, 0, 1, 0, 0])
    proba = np.c_[1.0 - y, y.astype(float)]
    check_all(y, y.copy(), proba, [0, 1])
    assert compute("roc_auc", y, proba=proba, classes=[0, 1]) == 1.0
    assert compute("f1", y, y, classes=[0, 1]) == 1.0
    assert compute("false_positive_rate", y, y, classes=[0, 1]) == 0.0


def test_constant_predictions_and_constant_scores():
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    zeros = np.zeros_like(y)
    proba = np.full((y.size, 2), 0.5)
    check_all(y, zeros, proba, [0, 1])  # precision has no predicted positives -> 0.0
    assert compute("precision", y, zeros, classes=[0, 1]) == 0.0
    assert compute("roc_auc", y, proba=proba, classes=[0, 1]) == 0.5
    check_all(y, np.ones_like(y), proba, [0, 1])


@pytest.mark.parametrize("only", [0, 1])
def test_single_class_in_y_true(only):
    """recall / fpr divide by zero (0.0), roc_auc undefined (NaN), as scikit-learn."""
    rng = np.random.default_rng(only)
    y = np.full(20, only)
    yp = rng.integers(0, 2, 20)
    p = rng.random(20)
    proba = np.c_[1 - p, p]
    check_all(y, yp, proba, [0, 1])
    check_all(y, y.copy(), proba, [0, 1])
    assert math.isnan(compute("roc_auc", y, proba=proba, classes=[0, 1]))


def test_neither_true_nor_predicted_positive():
    y = np.zeros(10, dtype=int)
    for metric in ("precision", "recall", "f1"):
        assert compute(metric, y, y, classes=[0, 1]) == 0.0
    check_all(y, y.copy(), np.c_[np.ones(10), np.zeros(10)], [0, 1])


def test_log_loss_clips_hard_zero_and_one():
    y = np.array([0, 1, 1, 0])
    proba = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    got = compute("log_loss", y, proba=proba, classes=[0, 1])
    assert math.isfinite(got)
    assert_same(got, sk_value("log_loss", y, proba=proba, classes=[0, 1]))


def test_multiclass_class_missing_from_sample():
    classes = [0, 1, 2]
    y, yp, proba = random_case(11, classes, y_probs=[0.5, 0.5, 0.0])
    yp = np.where(yp == 2, 0, yp)
    check_all(y, yp, proba, classes)  # roc_auc: NaN (ovr for class 2 undefined)
    assert math.isnan(compute("roc_auc", y, proba=proba, classes=classes))


# ---------------------------------------------------------------- regression

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("scale", [1.0, 1e-3, 1e4, 1e8])
def test_regression_random(seed, scale):
    """Absolute 1e-12 even for large values: the sums run in scikit-learn's order."""
    rng = np.random.default_rng(seed)
    y = rng.normal(5, 3, 250) * scale
    yp = y + rng.normal(0, 1, 250) * scale
    for metric in VALUE_METRICS:
        assert_same(compute(metric, y, yp), sk_value(metric, y, yp))


@pytest.mark.parametrize("metric", VALUE_METRICS)
@pytest.mark.parametrize("case", ["perfect", "constant_true", "constant_both", "zeros_in_true",
                                  "one_row", "integers"])
def test_regression_edges(metric, case):
    y = np.array([3.0, -1.0, 0.5, 2.0, 7.0])
    yp = np.array([2.5, -0.5, 0.0, 2.0, 8.0])
    if case == "perfect":
        yp = y.copy()
    elif case == "constant_true":
        y = np.full(5, 2.0)
    elif case == "constant_both":
        y, yp = np.full(5, 2.0), np.full(5, 2.0)
    elif case == "zeros_in_true":
        y = np.array([0.0, 1.0, 0.0, 2.0, 3.0])
    elif case == "one_row":
        y, yp = y[:1], yp[:1]
    elif case == "integers":
        y, yp = [3, 1, 4, 1, 5], [2, 7, 1, 8, 2]
    # mape with zeros in y_true is huge (x / eps) and still equal to the last bit
    assert_same(compute(metric, y, yp), sk_value(metric, y, yp))


def test_r2_edge_values():
    assert compute("r2", [2.0, 2.0, 2.0], [2.0, 2.0, 2.0]) == 1.0
    assert compute("r2", [2.0, 2.0, 2.0], [1.0, 2.0, 3.0]) == 0.0
    assert math.isnan(compute("r2", [1.0], [2.0]))


# ---------------------------------------------------------------- real model output

@pytest.mark.parametrize("n_classes", [2, 3])
def test_logistic_regression_output(n_classes):
    X, y = make_classification(n_samples=600, n_features=8, n_informative=5,
                               n_classes=n_classes, random_state=42)
    model = LogisticRegression(max_iter=1000).fit(X[:400], y[:400])
    X_test, y_test = X[400:], y[400:]
    yp, proba = model.predict(X_test), model.predict_proba(X_test)
    check_all(y_test, yp, proba, list(model.classes_))


def test_logistic_regression_string_labels():
    X, y = make_classification(n_samples=500, n_features=6, random_state=3)
    names = np.array(["late", "on_time"])[y]
    model = LogisticRegression().fit(X[:300], names[:300])
    yp, proba = model.predict(X[300:]), model.predict_proba(X[300:])
    check_all(names[300:], yp, proba, list(model.classes_))


def test_linear_regression_output():
    X, y = make_regression(n_samples=400, n_features=5, noise=10.0, random_state=1)
    y = y + 300.0  # keep y_true away from zero so mape is meaningful
    model = LinearRegression().fit(X[:250], y[:250])
    yp = model.predict(X[250:])
    for metric in VALUE_METRICS:
        assert_same(compute(metric, y[250:], yp), sk_value(metric, y[250:], yp))


# ---------------------------------------------------------------- API and errors

def test_tables_cover_design_names():
    names = ["accuracy", "precision", "recall", "f1", "false_positive_rate", "roc_auc",
             "log_loss", "brier", "mae", "rmse", "r2", "mape"]
    assert list(METRICS) == names
    assert set(GREATER_IS_BETTER) == set(names)
    lower = {"log_loss", "brier", "mae", "rmse", "mape", "false_positive_rate"}
    assert {m for m, g in GREATER_IS_BETTER.items() if not g} == lower
    assert set(METRICS.values()) == {"labels", "proba", "values"}
    assert {m for m, n in METRICS.items() if n == "proba"} == set(PROBA_METRICS)


Y = np.array([0, 1, 1, 0])
P = np.array([[0.8, 0.2], [0.3, 0.7], [0.5, 0.5], [0.6, 0.4]])


@pytest.mark.parametrize(("args", "kwargs", "words"), [
    (("auc", Y, Y), {"classes": [0, 1]}, "Unknown metric"),
    (("precision", Y), {"classes": [0, 1]}, "predicted labels"),
    (("precision", Y, Y), {}, "class labels"),
    (("precision", Y, Y), {"classes": [1]}, "two or more"),
    (("roc_auc", Y), {"classes": [0, 1]}, "probabilities"),
    (("mae", [1.0, 2.0]), {}, "predicted values"),
    (("log_loss", Y), {"proba": np.where(P == 0.5, np.nan, P), "classes": [0, 1]}, "NaN"),
    (("rmse", [1.0, np.nan]), {"y_pred": [1.0, 2.0]}, "NaN"),
    (("mae", [1.0, 2.0]), {"y_pred": [1.0, np.inf]}, "infinite"),
    (("accuracy", [0, 1, 2]), {"y_pred": [0, 1, 1], "classes": [0, 1]}, "not one of"),
    (("accuracy", Y), {"y_pred": Y[:3], "classes": [0, 1]}, "as many"),
    (("r2", [1.0, 2.0]), {"y_pred": [1.0]}, "as many"),
    (("brier", Y), {"proba": P[:3], "classes": [0, 1]}, "shape"),
    (("log_loss", Y), {"proba": P, "classes": [0, 1, 2]}, "shape"),
    (("log_loss", Y), {"proba": P * 2, "classes": [0, 1]}, "outside"),
    (("accuracy", []), {"y_pred": [], "classes": [0, 1]}, "no rows"),
    (("false_positive_rate", [0, 1, 2]), {"y_pred": [0, 1, 2], "classes": [0, 1, 2]},
     "two classes"),
    (("roc_auc", [0, 1, 2]), {"proba": np.full((3, 3), 0.5), "classes": [0, 1, 2]},
     "sum to 1"),
    (("recall", Y, Y), {"classes": [0, 1], "positive": 5}, "positive class"),
    (("mape", ["a", "b"], [1.0, 2.0]), {}, "numbers"),
])
def test_errors_are_engine_errors(args, kwargs, words):
    with pytest.raises(EngineError) as info:
        compute(*args, **kwargs)
    assert info.value.code == "E_METRIC"
    assert words in info.value.message


def test_numpy_only_and_no_qt():
    code = ("import sys, engine.metrics; "
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('sklearn', 'scipy', 'PySide6', 'shiboken6', 'gui')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
