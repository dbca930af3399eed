"""The loader validates a coefficient file completely: a malformed file gets a
CoefficientsInvalid naming the JSON path and what was expected, never a KeyError or IndexError
from inside the predictor. Property tests mutate valid files at random."""

from __future__ import annotations

import copy
import json
from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn import ensemble, linear_model
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder

from engine.errors import CoefficientsInvalid, EngineError
from engine.model import load_coefficients
from tests.engine.test_parity_pipelines import CATEGORICAL, NUMERIC, mixed_frame


@cache
def valid_documents() -> dict[str, dict]:
    """Small real models: a pipeline with every step kind, a forest and a boosted model."""
    df, y = mixed_frame(300, seed=11)
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), MinMaxScaler(clip=True)), NUMERIC),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), ["color"]),
        ("ord", OrdinalEncoder(), ["size"])])
    models = {
        "pipeline-logistic": make_pipeline(pre, linear_model.LogisticRegression()),
        "forest": make_pipeline(ColumnTransformer(
            [("o", OrdinalEncoder(), CATEGORICAL)], remainder="passthrough"),
            ensemble.RandomForestClassifier(3, max_depth=3, random_state=0)),
        "hgb": make_pipeline(ColumnTransformer(
            [("o", OrdinalEncoder(), CATEGORICAL)], remainder="passthrough"),
            ensemble.HistGradientBoostingRegressor(max_iter=3, max_depth=3)),
    }
    from tests.engine.conftest import roundtrip

    return {name: roundtrip(m.fit(df, y), df, y)[1] for name, m in models.items()}


def _rows():
    df, _ = mixed_frame(40, seed=12)
    return df


def _load(doc):
    return load_coefficients(json.dumps(doc, allow_nan=False))


def _invalid(doc, *fragments: str) -> str:
    with pytest.raises(CoefficientsInvalid) as info:
        _load(doc)
    message = info.value.message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_valid_documents_load_and_predict():
    for doc in valid_documents().values():
        result = _load(doc).predict(_rows())
        assert result.n_ok == 40


@pytest.mark.parametrize(("edit", "fragments"), [
    (lambda d: d.pop("format"), ["at $", "'format' is missing"]),
    (lambda d: d.update(format="ratchet-coefficients/2"), ["at $.format", "ratchet-coeff"]),
    (lambda d: d.update(task="ranking"), ["at $.task", "one of"]),
    (lambda d: d.update(classes=[0]), ["at $.classes", "exactly 2"]),
    (lambda d: d["inputs"].append(dict(d["inputs"][0])), ["at $.inputs", "listed twice"]),
    (lambda d: d["inputs"][1].update(type="date"), ["at $.inputs[1].type"]),
    (lambda d: d["estimator"]["coef"][0].pop(), ["at $.estimator.coef[0]", "expected a list of"]),
    (lambda d: d["estimator"]["coef"][0].__setitem__(2, "x"), ["$.estimator.coef[0][2]",
                                                               "a number"]),
    (lambda d: d["estimator"].update(intercept=[]), ["$.estimator.intercept"]),
    (lambda d: d.update(link="softmax"), ["at $.link", "does not serve a binary"]),
    (lambda d: d["preprocessing"][0]["blocks"][0]["columns"].append(17),
     ["$.preprocessing[0].blocks[0].columns[3]", "column 17 does not exist"]),
    (lambda d: d["preprocessing"][0]["blocks"][1]["steps"][1]["encoders"][0].update(width=1),
     ["$.preprocessing[0].blocks[1].steps[1].encoders[0].columns", "below width 1"]),
    (lambda d: d["preprocessing"][0]["blocks"][0]["steps"][0].update(op="log"), ["op"]),
    (lambda d: d.update(extra=1), ["unknown field 'extra'"]),
])
def test_malformed_pipeline_documents_name_the_path(edit, fragments):
    doc = copy.deepcopy(valid_documents()["pipeline-logistic"])
    edit(doc)
    _invalid(doc, *fragments)


@pytest.mark.parametrize(("edit", "fragments"), [
    (lambda t: t["left"].__setitem__(0, 0), ["$.estimator.trees[0].left[0]", "later node"]),
    (lambda t: t["right"].__setitem__(0, 10_000), ["$.estimator.trees[0].right[0]"]),
    (lambda t: t["feature"].__setitem__(0, 99), ["$.estimator.trees[0].feature[0]"]),
    (lambda t: t["threshold"].pop(), ["$.estimator.trees[0].threshold", "expected a list of"]),
    (lambda t: t["value"][1].append(0.5), ["$.estimator.trees[0].value[1]"]),
    (lambda t: t["missing_left"].__setitem__(0, 1), ["$.estimator.trees[0].missing_left[0]",
                                                      "true or false"]),
    (lambda t: t.update(output=5), ["$.estimator.trees[0].output"]),
])
def test_malformed_trees_name_the_path(edit, fragments):
    doc = copy.deepcopy(valid_documents()["forest"])
    edit(doc["estimator"]["trees"][0])
    _invalid(doc, *fragments)


def test_not_json_and_not_an_object():
    with pytest.raises(CoefficientsInvalid, match="not valid JSON"):
        load_coefficients(b"{\"format\": ")
    with pytest.raises(CoefficientsInvalid, match="expected an object"):
        load_coefficients("[1, 2]")


# -- property tests: random mutations of valid files ------------------------------------------

def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:6]):  # the first few items of long arrays suffice
            yield from _paths(v, (*path, i))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 40) | st.floats(allow_nan=False,
                                                                 allow_infinity=False)
    | st.sampled_from(["", "x", "+inf", "number", "category", "error", "ignore", "float32"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=2),
    max_leaves=4)


@st.composite
def mutated(draw):
    name = draw(st.sampled_from(sorted(valid_documents())))
    doc = copy.deepcopy(valid_documents()[name])
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(doc))[1:]
        path = draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "duplicate"]))
        key = path[-1]
        if action == "replace":
            parent[key] = draw(JSON_VALUES)
        elif action == "delete":
            del parent[key]
        elif isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        else:
            parent[key] = copy.deepcopy(parent[key])
    return doc


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_files_are_refused_cleanly_or_still_work(doc):
    try:
        model = _load(doc)
    except CoefficientsInvalid as exc:
        assert exc.message.count("$") >= 1 and exc.code == "E_COEFFICIENTS_INVALID"
        return
    # Still valid (the mutation kept the format): it must then predict without crashing.
    try:
        result = model.predict(_rows())
    except EngineError:
        return  # e.g. a renamed input the rows do not have: a clear, named error
    assert len(result.rejected) == 40
    assert result.proba is None or result.proba.shape[0] == 40
    if result.n_ok and result.proba is not None:
        ok = ~result.rejected
        assert np.isfinite(result.proba[ok]).all() or model.link == "proba"
