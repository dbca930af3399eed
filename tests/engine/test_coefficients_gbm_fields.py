"""The trees estimator's fields for XGBoost and LightGBM (strict, accumulate, zero_threshold,
missing_zero), on a hand-written one-split model: what each means, and that the loader refuses
a malformed one naming the field."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from engine.errors import CoefficientsInvalid
from engine.model import load_coefficients

STUMP = {
    "format": "ratchet-coefficients/1", "model_id": "stump", "task": "regression",
    "inputs": [{"name": "x", "type": "number", "missing": True}], "preprocessing": [],
    "estimator": {"kind": "trees", "compare": "float64", "outputs": 1, "init": [0.5],
                  "scale": 1.0, "divisor": 1.0,
                  "trees": [{"output": 0, "feature": [0, -1, -1], "threshold": [1.0, 0.0, 0.0],
                             "left": [1, -1, -1], "right": [2, -1, -1],
                             "missing_left": [False, False, False],
                             "value": [[0.0], [10.0], [20.0]]}]},
    "link": "identity", "decision": "value",
}


def stump(**fields) -> dict:
    doc = copy.deepcopy(STUMP)
    tree_fields = {k: fields.pop(k) for k in ("missing_zero", "threshold", "category_sets",
                                              "missing_left", "linear_leaves") if k in fields}
    doc["estimator"].update(fields)
    doc["estimator"]["trees"][0].update(tree_fields)
    return doc


def predict(doc, values) -> list[float]:
    model = load_coefficients(doc)
    return model.predict({"x": np.array(values, dtype=np.float64)}).prediction.tolist()


def test_a_file_without_the_new_fields_compares_x_le_threshold():
    assert predict(stump(), [1.0, np.nextafter(1.0, 2), np.nan]) == [10.5, 20.5, 20.5]


def test_strict_sends_the_threshold_itself_right_in_float64_and_float32():
    below = float(np.nextafter(1.0, 0))
    assert predict(stump(strict=True), [1.0, below, -0.0]) == [20.5, 10.5, 10.5]
    doc = stump(strict=True, compare="float32", threshold=[0.1, 0.0, 0.0])
    t32 = float(np.float32(0.1))
    below32 = float(np.nextafter(np.float32(0.1), np.float32(0)))
    # float32(x) < float32 threshold: 0.1 itself rounds to t32, which is not below it.
    assert predict(doc, [0.1, t32, below32, 0.09999999]) == [20.5, 20.5, 10.5, 10.5]


def test_zero_threshold_reads_tiny_values_as_zero():
    tiny = float(np.float32(1e-35))
    doc = stump(threshold=[-tiny, 0.0, 0.0], zero_threshold=tiny)
    # -tiny <= -tiny, but LightGBM reads it as 0.0, which is above the threshold.
    assert predict(doc, [-tiny, -0.0, 1e-36, -2 * tiny]) == [20.5, 20.5, 20.5, 10.5]
    assert predict(stump(threshold=[-tiny, 0.0, 0.0]), [-tiny]) == [10.5]


def test_missing_zero_sends_zero_and_nan_the_missing_way():
    doc = stump(missing_zero=[True, False, False])
    assert predict(doc, [0.0, -0.0, np.nan, 0.5, 2.0]) == [20.5, 20.5, 20.5, 10.5, 20.5]
    doc["estimator"]["trees"][0]["missing_left"] = [True, False, False]
    assert predict(doc, [0.0, np.nan, 2.0, 1e-300]) == [10.5, 10.5, 20.5, 10.5]


def test_float32_accumulation_sums_in_float32_from_init():
    doc = stump(accumulate="float32", init=[float(np.float32(0.1))])
    doc["estimator"]["trees"] *= 3
    doc["estimator"]["trees"] = [copy.deepcopy(t) for t in doc["estimator"]["trees"]]
    for t in doc["estimator"]["trees"]:
        t["value"] = [[0.0], [float(np.float32(1e-8))], [float(np.float32(0.3))]]
    expected = np.float32(0.1)
    for _ in range(3):
        expected = np.float32(expected + np.float32(1e-8))
    assert predict(doc, [0.0]) == [float(expected)]


def test_category_sets_send_their_categories_left():
    xs = [0, 1, 2, 3, 40, 41, 1.5, 40.5, 39.99, -0.5, -1, np.nan, 1e10, 2.0**32 + 1]
    doc = stump(category_sets=[[1, 3, 40], None, None])
    # LightGBM: int(x) as C truncates it, so -0.5 is category 0; NaN goes right (missing_left).
    assert predict(doc, xs) == [20.5, 10.5, 20.5, 10.5, 10.5, 20.5, 10.5, 10.5, 20.5, 20.5,
                                20.5, 20.5, 20.5, 20.5]
    doc = stump(category_sets=[[0], None, None], missing_left=[True, False, False])
    assert predict(doc, [0.0, -0.0, 0.7, -0.5, np.nan, 1.0]) == [10.5] * 5 + [20.5]
    # strict (XGBoost): only x >= 0 (after the float32 cast) is a category.
    doc = stump(category_sets=[[0], None, None], strict=True, compare="float32")
    assert predict(doc, [0.0, -0.0, -1e-50, 0.7, -0.5, 1.0]) == [10.5] * 4 + [20.5] * 2


def test_linear_leaves_add_const_plus_coeffs_times_x_or_their_value_on_nan():
    lin = {"const": 1.0, "features": [0, 0], "coeffs": [0.5, 0.25]}
    doc = stump(linear_leaves=[None, lin, None])
    assert predict(doc, [0.5, -2.0, 3.0, np.nan]) == [0.5 + 1.375, 0.5 - 0.5, 20.5, 20.5]


@pytest.mark.parametrize(("change", "path", "words"), [
    ({"linear_leaves": [{"const": 1.0, "features": [], "coeffs": []}, None, None]},
     "$.estimator.trees[0].linear_leaves[0]", "split"),
    ({"linear_leaves": [None, {"const": 1.0, "features": [1], "coeffs": [2.0]}, None]},
     "$.estimator.trees[0].linear_leaves[1].features[0]", "only 1 columns"),
    ({"linear_leaves": [None, {"const": 1.0, "features": [0], "coeffs": []}, None]},
     "$.estimator.trees[0].linear_leaves[1].coeffs", "1 items"),
    ({"linear_leaves": [None, {"const": 1.0, "features": [0]}, None]},
     "$.estimator.trees[0].linear_leaves[1]", "'coeffs' is missing"),
    ({"linear_leaves": [None, {"const": 1.0, "features": [0], "coeffs": [1.0]}, None],
      "compare": "float32"}, "$.estimator.compare", "linear leaves"),

    ({"category_sets": [[1], None]}, "$.estimator.trees[0].category_sets", "3 items"),
    ({"category_sets": [[1], [2], None]}, "$.estimator.trees[0].category_sets[1]", "leaf"),
    ({"category_sets": [[-1], None, None]}, "$.estimator.trees[0].category_sets[0][0]",
     ">= 0"),
    ({"category_sets": [[2, 2], None, None]}, "$.estimator.trees[0].category_sets[0]",
     "twice"),
    ({"category_sets": [[1 << 20], None, None]}, "$.estimator.trees[0].category_sets[0][0]",
     "between 0 and"),
    ({"category_sets": [["a"], None, None]}, "$.estimator.trees[0].category_sets[0][0]",
     "an integer"),
    ({"category_sets": [[1], None, None], "missing_zero": [True, False, False]},
     "$.estimator.trees[0].category_sets[0]", "missing_zero"),

    ({"strict": "yes"}, "$.estimator.strict", "true or false"),
    ({"accumulate": "float16"}, "$.estimator.accumulate", "'float32'"),
    ({"zero_threshold": -1.0}, "$.estimator.zero_threshold", ">= 0"),
    ({"missing_zero": [True]}, "$.estimator.trees[0].missing_zero", "3 items"),
    ({"accumulate": "float32"}, "$.estimator.init", "float32 numbers"),
    ({"accumulate": "float32", "init": [0.5], "scale": 0.5}, "$.estimator.accumulate",
     "scale 1"),
])
def test_malformed_fields_are_refused_naming_them(change, path, words):
    doc = stump(**change)
    if change.get("accumulate") == "float32" and "init" not in change:
        doc["estimator"]["init"] = [0.1]  # not a float32 number
    with pytest.raises(CoefficientsInvalid) as info:
        load_coefficients(doc)
    assert path in str(info.value) and words in str(info.value), str(info.value)
