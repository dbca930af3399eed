"""One row explained for the app's "Why?" panel (engine.services.explain): the contributions
of the operator's columns add up to the model's own score, the row's cells are read the way
its file is (missing-value markers), a rejected row says why, and a model exported without the
numbers explanations need says so."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from engine.explain import ExplanationUnavailable
from engine.export.exporter import export_model
from engine.model import load_coefficients
from engine.services.explain import explain_row
from tests.engine import models_kit as kit


@pytest.fixture(scope="module")
def small():
    data = kit.frame(kit.SMALL, 400, seed=2)
    fitted = LogisticRegression().fit(data[kit.SMALL], data["y"])
    doc = export_model(fitted, data[[*kit.SMALL, "y"]], "y", "test-small")
    return load_coefficients(doc), fitted, data


def test_the_contributions_add_up_to_the_models_own_score(small):
    model, fitted, data = small
    for i in range(20):
        row = data.iloc[i]
        cells = {c: repr(float(row[c])) for c in kit.SMALL}
        why = explain_row(model, "test-small@1", cells)
        proba = fitted.predict_proba(data[kit.SMALL].iloc[[i]])[0, 1]
        assert why.score == pytest.approx(np.log(proba / (1 - proba)), abs=1e-9)
        assert why.base + sum(c for *_, c in why.items) == pytest.approx(why.score, abs=1e-12)
        assert why.space == "log-odds" and why.explained == "class 1"
        assert [name for name, *_ in why.items] == kit.SMALL
        assert [value for _, value, _ in why.items] == [cells[c] for c in kit.SMALL]
        # linear: coefficient x (value - the training mean), per column
        means = data[kit.SMALL].mean().to_numpy()
        expected = fitted.coef_[0] * (row[kit.SMALL].to_numpy(float) - means)
        assert np.allclose([c for *_, c in why.items], expected, atol=1e-9)
        assert why.decision.startswith(f"{fitted.predict(data[kit.SMALL].iloc[[i]])[0]} (P(")


def test_a_rejected_row_says_why_and_has_no_contributions(small):
    model, _fitted, _data = small
    why = explain_row(model, "test-small@1", {"x0": "abc", "x1": "1", "x2": "2"})
    assert why.items == () and why.decision == "rejected"
    assert "'abc' is not a number" in why.rejected


def test_a_model_without_training_means_cannot_explain(small):
    doc = model_doc_without_means(small)
    with pytest.raises(ExplanationUnavailable):
        explain_row(load_coefficients(doc), "test-small@1", {"x0": "1", "x1": "1", "x2": "1"})


def model_doc_without_means(small):
    _model, fitted, data = small
    doc = export_model(fitted, data[[*kit.SMALL, "y"]], "y", "test-small")
    found = drop_key(doc, "mean")
    assert found, "the exporter no longer writes training means under 'mean'"
    return doc


def drop_key(node, key: str) -> bool:
    if isinstance(node, dict):
        found = node.pop(key, None) is not None
        return any([found, *(drop_key(v, key) for v in node.values())])
    if isinstance(node, list):
        return any([drop_key(v, key) for v in node])
    return False


def test_a_missing_value_marker_is_explained_as_the_empty_cell(ws):
    import csv

    from engine.registry.registry import Registry
    from tests.engine.workspace_kit import SAMPLE

    with Registry.open(ws.root) as registry:
        model, label = registry.load_model()[:2]
    row = next(csv.DictReader(SAMPLE.open()))
    blank = explain_row(model, label, {**row, "dep_time": ""})
    marked = explain_row(model, label, {**row, "dep_time": "NA"})
    assert "NA" in model.missing_markers and blank.rejected is None
    assert [c for *_, c in marked.items] == [c for *_, c in blank.items]
    assert marked.score == blank.score
