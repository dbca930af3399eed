"""The shadow's comparison, made on the challenger's one pass over the file (the champion scored
on the same parsed chunks), is the comparison of reading the file once per model with the
now-test reader: on a file with every kind of row a model refuses, in one chunk or many, from
a batch's pass or a now-test's, and with the same error for a label that is not a class."""

from __future__ import annotations

import pytest

from engine.batch.score import score_csv
from engine.bundle.ziparchive import read_members
from engine.errors import InputError
from engine.model import load_coefficients
from engine.nowtest.current import read_current
from engine.nowtest.run import run_nowtest_beside
from engine.trial.compare import ChampionBeside, compare_samples
from tests.engine import test_trial_kit as kit
from tests.engine.workspace_kit import DEMO_BUNDLE

bundles, data, flights = kit.bundles, kit.data, kit.flights


def model_of(bundle_bytes: bytes):
    return load_coefficients(read_members(bundle_bytes)["coefficients.json"])


@pytest.fixture(scope="module")
def champion():
    return model_of(DEMO_BUNDLE.read_bytes())


@pytest.fixture(scope="module")
def challenger(bundles):  # the champion's inputs, trained on two more months
    return model_of(bundles["better"].read_bytes())


@pytest.fixture
def messy(data, tmp_path):
    """The operator's batch with blank, short and unreadable rows, a quoted field, a missing
    value and a label too long to read (which only the comparison's parse refuses)."""
    lines = data["batch"].read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    late, dep, carrier = (header.index(c) for c in ("late", "dep_time", "carrier"))
    for i in range(1, len(lines)):
        fields = lines[i].split(",")
        if i % 41 == 0:
            fields = []  # a blank line
        elif i % 43 == 0:
            fields = fields[:-3]
        elif i % 47 == 0:
            fields[dep] = "soon"
        elif i % 53 == 0:
            fields[carrier] = '"U,A"'
        elif i % 59 == 0:
            fields[carrier] = ""
        elif i % 97 == 0:
            fields[late] = "1" * ((1 << 20) + 1)
        lines[i] = ",".join(fields)
    path = tmp_path / "messy.csv"
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    return path


def read_twice(path, champion, challenger) -> dict:
    return compare_samples(champion, read_current(path, champion), challenger,
                           read_current(path, challenger))


@pytest.mark.parametrize("chunk_bytes", [8 << 20, 4096])
def test_the_batch_pass_compares_as_reading_the_file_per_model(champion, challenger, messy,
                                                               tmp_path, chunk_bytes):
    beside = ChampionBeside(champion, challenger)
    shadow = score_csv(messy, tmp_path / "shadow.csv", challenger, "c", chunk_bytes=chunk_bytes,
                       alongside=beside)
    alone = score_csv(messy, tmp_path / "alone.csv", challenger, "c", chunk_bytes=chunk_bytes)
    assert (tmp_path / "shadow.csv").read_bytes() == (tmp_path / "alone.csv").read_bytes()
    assert shadow.input_sha256 == alone.input_sha256
    comparison = beside.comparison(messy)
    assert comparison == read_twice(messy, champion, challenger)
    # the long labels are refused by the comparison's parse only, not in the shadow's output
    assert comparison["challenger_rejected"] > shadow.rejected > 0
    assert comparison["labelled"] > 0 and 0.5 < comparison["agreement"] < 1


def test_the_nowtest_pass_compares_as_reading_the_file_per_model(champion, challenger, messy,
                                                                 bundles):
    members = read_members(bundles["better"].read_bytes())
    beside = ChampionBeside(champion, challenger)
    run_nowtest_beside(messy, challenger, kit.BETTER, members, [], beside)
    assert beside.comparison(messy) == read_twice(messy, champion, challenger)


def test_a_label_that_is_not_a_class_fails_the_comparison_as_reading_it_would(
        champion, challenger, messy, tmp_path):
    text = messy.read_text(encoding="utf-8").splitlines()
    late = text[0].split(",").index("late")
    fields = text[300].split(",")
    fields[late] = "maybe"
    text[300] = ",".join(fields)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(text) + "\n", encoding="utf-8")
    beside = ChampionBeside(champion, challenger)
    score_csv(bad, tmp_path / "shadow.csv", challenger, "c", chunk_bytes=4096, alongside=beside)
    with pytest.raises(InputError) as expected:
        read_twice(bad, champion, challenger)
    with pytest.raises(InputError) as raised:
        beside.comparison(bad)
    assert raised.value.code == expected.value.code == "E_BAD_LABEL"
    assert str(raised.value) == str(expected.value) and "'maybe'" in str(raised.value)
