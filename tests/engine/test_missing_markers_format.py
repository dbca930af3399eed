"""The `missing_markers` field of a coefficient file (issue 14): validated by the loader with
errors naming the field, chosen at export (default the empty cell and `NA`, or
`--missing-markers`), and refused at export when a marker is a category seen in training."""

from __future__ import annotations

import json

import joblib
import pytest

from engine.cli import main
from engine.errors import CoefficientsInvalid, InputError
from engine.model import load_coefficients
from tests.engine.markers_kit import (
    INPUTS,
    as_numbers,
    august_text,
    exported,
    fitted_pipeline,
)


@pytest.fixture(scope="module")
def flights():
    text = august_text(600)
    pipeline = fitted_pipeline(text)
    return text, pipeline, exported(pipeline, text, INPUTS)


@pytest.mark.parametrize(("markers", "path", "why"), [
    ("NA", "$.missing_markers", "expected a list"),
    ([], "$.missing_markers", "expected at least 1 items"),
    (["NA"], "$.missing_markers", "the empty cell ('') must be one of the markers"),
    (["", 3], "$.missing_markers[1]", "expected a string"),
    (["", "NA", "NA"], "$.missing_markers[2]", "'NA' is listed twice"),
    (["", "N,A"], "$.missing_markers[1]", "contains a comma"),
    (["", "N;A"], "$.missing_markers[1]", "contains a semicolon"),
    (["", 'N"A'], "$.missing_markers[1]", "contains a quote"),
    (["", "N\nA"], "$.missing_markers[1]", "contains a line break"),
    (["", "x" * 21], "$.missing_markers[1]", "at most 20 characters"),
    (["", " NA"], "$.missing_markers[1]", "starts or ends with a space"),
    (["", "-999"], "$.missing_markers[1]", "reads as a number"),
    (["", "UA"], "$.missing_markers[1]", "is also a category of the input 'carrier'"),
])
def test_the_loader_refuses_bad_markers_naming_the_field(flights, markers, path, why):
    _, _, doc = flights
    with pytest.raises(CoefficientsInvalid) as caught:
        load_coefficients({**doc, "missing_markers": markers})
    assert caught.value.code == "E_COEFFICIENTS_INVALID"
    assert path in caught.value.message and why in caught.value.message


def test_good_markers_load(flights):
    _, _, doc = flights
    model = load_coefficients({**doc, "missing_markers": ["", "NA", "N/A", "null", "?"]})
    assert model.missing_markers == ("", "NA", "N/A", "null", "?")


def test_export_refuses_a_marker_that_is_a_training_category(flights):
    text, pipeline, _ = flights
    with pytest.raises(InputError) as caught:
        exported(pipeline, text, INPUTS, missing_markers=("", "NA", "UA"))
    assert caught.value.code == "E_MISSING_MARKERS"
    assert "'UA' is also a category of the input 'carrier'" in caught.value.message


@pytest.fixture
def publisher(flights, tmp_path):
    text, pipeline, _ = flights
    sample = as_numbers(text)[[*INPUTS, "late"]]
    sample.to_csv(tmp_path / "train.csv", index=False)
    joblib.dump(pipeline, tmp_path / "model.joblib")

    def export(*extra: str) -> tuple[int, dict | None]:
        out = tmp_path / "coefficients.json"
        out.unlink(missing_ok=True)
        code = main(["export", str(tmp_path / "model.joblib"), "--sample",
                     str(tmp_path / "train.csv"), "--target", "late", "--model-id", "m", "-o",
                     str(out), *extra])
        return code, json.loads(out.read_text()) if out.exists() else None
    return export


def test_export_writes_the_default_markers(publisher, capsys):
    code, doc = publisher()
    assert code == 0 and doc["missing_markers"] == ["", "NA"]
    assert "missing_markers" in capsys.readouterr().out


@pytest.mark.parametrize(("given", "written"), [
    (",NA,N/A", ["", "NA", "N/A"]),
    ("NA,N/A", ["", "NA", "N/A"]),  # the empty cell always counts
    ("", [""]),
])
def test_export_option_chooses_the_markers(publisher, capsys, given, written):
    code, doc = publisher("--missing-markers", given)
    assert code == 0 and doc["missing_markers"] == written
    assert load_coefficients(doc).missing_markers == tuple(written)


def test_export_option_refuses_a_bad_marker_and_writes_nothing(publisher, capsys):
    code, doc = publisher("--missing-markers", ",NA,NA")
    err = capsys.readouterr().err
    assert code == 2 and doc is None
    assert "E_MISSING_MARKERS" in err and "'NA' is listed twice" in err


def test_export_help_documents_the_option(capsys):
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    assert "--missing-markers" in capsys.readouterr().out


def test_export_refuses_a_category_the_models_encoder_learned(publisher, capsys):
    # Read with the marker, the sample no longer shows 'UA'; the fitted encoder still knows it.
    code, doc = publisher("--missing-markers", ",UA")
    err = capsys.readouterr().err
    assert code == 2 and doc is None
    assert "'UA' is also a category of the model's encoder" in err


def test_the_sample_is_read_with_the_chosen_markers(flights, tmp_path, capsys):
    text, pipeline, _ = flights
    sample = text[[*INPUTS, "late"]].replace("NA", "?")  # the publisher's own way to write it
    sample.to_csv(tmp_path / "train.csv", index=False)
    joblib.dump(pipeline, tmp_path / "model.joblib")
    out = tmp_path / "c.json"
    code = main(["export", str(tmp_path / "model.joblib"), "--sample", str(tmp_path / "train.csv"),
                 "--target", "late", "--model-id", "m", "-o", str(out),
                 "--missing-markers", ",?"])
    assert code == 0, capsys.readouterr().err
    doc = json.loads(out.read_text())
    assert doc["missing_markers"] == ["", "?"]
    assert {f["name"]: f["type"] for f in doc["inputs"]}["dep_delay"] == "number"
