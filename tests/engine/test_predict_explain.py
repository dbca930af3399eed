"""`ratchet predict --explain K / --explain-all`: explanation columns in the batch output,
streamed chunk by chunk, empty on rejected rows, recorded in the provenance; a model without
covers is refused before anything is written."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engine.batch.explain_cells import ExplainRequest
from engine.batch.score import provenance_path, score_csv
from engine.explain import ExplanationUnavailable, explain
from engine.model import load_coefficients
from tests.engine.conftest import json_cli
from tests.engine.explain_kit import raw_scores
from tests.engine.models_kit import SMALL, add_small, trust_alice, write
from tests.engine.test_batch_predict import fitted_and_model, read_output, sample_csv


def _explained(tmp_path, request: ExplainRequest, chunk_bytes: int = 4096):
    _, model, _ = fitted_and_model()
    src, df = sample_csv(tmp_path)
    df.loc[::7, "size"] = "gigantic"  # a size the model never saw: these rows are rejected
    df.to_csv(src, index=False)
    out = tmp_path / "out.csv"
    result = score_csv(src, out, model, "m@1", explain=request, chunk_bytes=chunk_bytes)
    return model, df, read_output(out), result, out


def test_why_columns_name_the_strongest_inputs_with_their_values(tmp_path):
    model, df, got, result, out = _explained(tmp_path, ExplainRequest(top=3))
    assert list(got.columns[-5:]) == ["status", "error", "why_1", "why_2", "why_3"]
    bad = (got["status"] == "rejected").to_numpy()
    assert bad.any() and (~bad).any()
    assert (got.loc[bad, ["why_1", "why_2", "why_3"]] == "").all().all()
    typed = {c: df[c].to_numpy() for c in model.feature_names}
    typed = {c: (v.astype(object) if f.type == "category" else pd.to_numeric(v).astype(float))
             for (c, v), f in zip(typed.items(), model.features, strict=True)}
    contrib = explain(model, typed).contributions[:, 0, :]
    for row in np.flatnonzero(~bad):
        strongest = np.argsort(-np.abs(contrib[row]), kind="stable")[:3]
        for k, j in enumerate(strongest):
            name = model.feature_names[j]
            text = got.loc[row, f"why_{k + 1}"]
            assert text.startswith(f"{name}=") and text.endswith(f"{contrib[row, j]:+.3g}")
    assert result.explanations["columns"] == "why_1..why_3"
    recorded = json.loads(provenance_path(out).read_text())
    assert recorded["explanations"]["space"].startswith("raw score")


def test_contrib_columns_add_up_to_the_raw_score_in_several_chunks(tmp_path):
    model, df, got, result, _ = _explained(tmp_path, ExplainRequest(every=True), 2048)
    names = [f"contrib_{n}" for n in model.feature_names]
    assert list(got.columns[-len(names):]) == names
    ok = (got["status"] == "ok").to_numpy()
    contrib = got.loc[ok, names].astype(float).to_numpy()
    base = explain(model, {c: df[c].to_numpy()[:1] for c in model.feature_names}).base
    typed = df.loc[ok, model.feature_names].reset_index(drop=True)
    raw = raw_scores(model, typed)[:, 0]
    np.testing.assert_allclose(base[0] + contrib.sum(axis=1), raw, rtol=0, atol=1e-9)
    assert (got.loc[~ok, names] == "").all().all()
    assert result.explanations["columns"] == "contrib_<input>"


def test_without_explanations_the_output_and_provenance_are_as_before(tmp_path):
    _, _, got, result, out = _explained(tmp_path, ExplainRequest())
    assert got.columns[-1] == "error" and result.explanations is None
    assert json.loads(provenance_path(out).read_text())["explanations"] is None


def test_a_model_without_covers_is_refused_before_writing(tmp_path):
    _, _, doc = fitted_and_model()
    old = json.loads(json.dumps(doc))
    for t in old["estimator"]["trees"]:
        del t["cover"]
    src, _ = sample_csv(tmp_path)
    out = tmp_path / "out.csv"
    with pytest.raises(ExplanationUnavailable, match="no node covers"):
        score_csv(src, out, load_coefficients(old), "m@1", explain=ExplainRequest(top=2))
    assert not out.exists() and not provenance_path(out).exists()


def test_cli_explain_and_its_usage_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RATCHET_TRUST_STORE", raising=False)
    from engine.ground.paths import Workspace
    from engine.registry.first_start import first_start

    ws = Workspace.open(tmp_path / "ws")
    first_start(ws)
    trust_alice(ws.root)
    add_small(ws.root)  # a logistic regression exported now: it has its training means
    run = json_cli(ws.root, capsys)
    src = write(tmp_path / "in.csv", SMALL, rows=50)
    out = tmp_path / "out.csv"
    code, summary, _ = run("predict", str(src), "-o", str(out), "--model", "test-small",
                           "--explain", "2")
    assert code == 0 and summary["rows"] == 50
    got = read_output(out)
    assert got["why_1"].str.match(r"^x[012]=\S+ [+-]\d").all()
    assert json.loads(provenance_path(out).read_text())["explanations"]["columns"] == \
        "why_1..why_2"
    for bad in (["--explain", "0"], ["--explain", "2", "--explain-all"]):
        with pytest.raises(SystemExit) as exit_:
            run("predict", str(src), "-o", str(tmp_path / "x.csv"), *bad)
        assert exit_.value.code == 2
        assert not (tmp_path / "x.csv").exists()
    capsys.readouterr()


def test_cli_refuses_a_model_exported_before_explanations(tmp_path, capsys, monkeypatch):
    """A bundle whose coefficient file has no training means (as exported before them):
    exit 2, E_NO_EXPLANATION, nothing written; it still predicts."""
    import io

    from sklearn.linear_model import LogisticRegression

    from engine.export.exporter import export_model
    from engine.ground.paths import Workspace
    from engine.registry.first_start import first_start
    from tests.engine.bundle_kit import ALICE, assemble
    from tests.engine.models_kit import frame, install

    monkeypatch.delenv("RATCHET_TRUST_STORE", raising=False)
    ws = Workspace.open(tmp_path / "ws")
    first_start(ws)
    trust_alice(ws.root)
    data = frame(SMALL, 300, seed=4)
    doc = export_model(LogisticRegression().fit(data[SMALL], data["y"]), data[[*SMALL, "y"]],
                       "y", "test-old")
    del doc["estimator"]["mean"]
    cases = io.StringIO()
    data[SMALL].iloc[:0].assign(expected="", tolerance="", kind="", note="",
                                source="").to_csv(cases, index=False)
    requirements = {"format": "ratchet-requirements/1",
                    "metrics": [{"metric": "roc_auc", "min": 0.5}]}
    install(ws.root, assemble({"coefficients.json": json.dumps(doc).encode(),
                               "requirements.json": json.dumps(requirements).encode(),
                               "regression_cases.csv": cases.getvalue().encode()},
                              "test-old", 1, signers=[ALICE]))
    run = json_cli(ws.root, capsys)
    src = write(tmp_path / "in.csv", SMALL, rows=20)
    out = tmp_path / "o.csv"
    code, summary, _ = run("predict", str(src), "-o", str(out), "--model", "test-old",
                           "--explain", "3")
    assert code == 2 and summary["error"] == "E_NO_EXPLANATION"
    assert "re-export it with ratchet >=" in summary["message"] and not out.exists()
    assert run("predict", str(src), "-o", str(out), "--model", "test-old")[0] == 0


def test_values_with_the_delimiter_or_quotes_are_quoted_in_their_cell(tmp_path):
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from tests.engine.conftest import roundtrip

    rng = np.random.default_rng(3)
    X = pd.DataFrame({"kind": rng.choice(['big, "red"', "small"], 200),
                      "w": rng.normal(size=200)})
    y = ((X["kind"] == "small") ^ (X["w"] > 1)).astype(int)
    fitted = make_pipeline(ColumnTransformer([("k", OneHotEncoder(), ["kind"]),
                                              ("w", "passthrough", ["w"])]),
                           LogisticRegression()).fit(X, y)
    model, _ = roundtrip(fitted, X, y)
    src = tmp_path / "in.csv"
    X.to_csv(src, index=False)
    score_csv(src, tmp_path / "out.csv", model, "m@1", explain=ExplainRequest(top=2))
    got = read_output(tmp_path / "out.csv")
    cells = pd.concat([got["why_1"], got["why_2"]])
    assert cells.str.match(r'^kind=big, "red" [+-]\d').any()
    assert cells.str.fullmatch(r'(w=\S+|kind=(big, "red"|small)) [+-]\S+').all()
