"""Our predictor against scikit-learn's own predict_proba / predict, on one thread.

Each family is fitted once on a modest synthetic set (a DataFrame with columns x0..x19), exported
with `engine.export.exporter.export_model` and loaded with `engine.model.load_coefficients`.
Both sides then score the same 1,000,000-row DataFrame (fixed seed; sklearn converts it, so do
we); the table shows the best of a few runs and ratio = ours / sklearn (bar: <= 1.00). The
kernel column times only the estimator (`estimator.raw` on a float64 matrix), so the rest of
`model.predict` (column checks, matrix assembly, link) is visible as the difference.

XGBoost and LightGBM (bench/_gbm.py: 500 trees, binary and 5-class, 5% NaN) are timed the same
way against their own predict_proba, and against the compiled runtimes TL2cgen and lleaves where
those are installed (ratio = ours / runtime, and each runtime's difference from the library).

    .venv/bin/python bench/predict_kernel.py [--rows N] [--repeat R] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

# One thread everywhere, set before numba / BLAS / OpenMP load (threadpoolctl also limits them).
os.environ.update(dict.fromkeys(
    ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"), "1"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import pandas as pd
from _common import best_of, environment_lines
from _gbm import GBM, run_gbm
from sklearn import ensemble, linear_model, tree
from sklearn.datasets import make_classification, make_regression
from threadpoolctl import threadpool_limits

from engine.export.exporter import export_model
from engine.model import load_coefficients

N_FEATURES = 20
N_TRAIN = 20_000
COLUMNS = [f"x{i}" for i in range(N_FEATURES)]

# name -> (task, factory); n_jobs only speeds up fitting, predict runs with n_jobs=1.
FAMILIES = {
    "LogisticRegression": ("binary", lambda: linear_model.LogisticRegression(max_iter=500)),
    "Ridge": ("regression", lambda: linear_model.Ridge(alpha=1.0)),
    "DecisionTreeClassifier": ("binary", lambda: tree.DecisionTreeClassifier(random_state=0)),
    "RandomForestClassifier": (
        "binary", lambda: ensemble.RandomForestClassifier(100, random_state=0, n_jobs=-1)),
    "RandomForestRegressor": (
        "regression", lambda: ensemble.RandomForestRegressor(100, random_state=0, n_jobs=-1)),
    "ExtraTreesClassifier": (
        "binary", lambda: ensemble.ExtraTreesClassifier(100, random_state=0, n_jobs=-1)),
    "GradientBoostingClassifier": (
        "binary", lambda: ensemble.GradientBoostingClassifier(n_estimators=100, random_state=0)),
    "GradientBoostingRegressor": (
        "regression", lambda: ensemble.GradientBoostingRegressor(n_estimators=100,
                                                                 random_state=0)),
    "HistGradientBoostingClassifier": (
        "binary", lambda: ensemble.HistGradientBoostingClassifier(
            max_iter=100, early_stopping=False, random_state=0)),
    "HistGradientBoostingRegressor": (
        "regression", lambda: ensemble.HistGradientBoostingRegressor(
            max_iter=100, early_stopping=False, random_state=0)),
}


def training_frame(task: str) -> tuple[pd.DataFrame, np.ndarray]:
    if task == "regression":
        X, y = make_regression(N_TRAIN, N_FEATURES, n_informative=10, noise=10.0, random_state=0)
    else:
        X, y = make_classification(N_TRAIN, N_FEATURES, n_informative=10, n_redundant=4,
                                   random_state=0)
    return pd.DataFrame(X, columns=COLUMNS), y


def test_frame(n_rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(20240601)
    return pd.DataFrame(rng.normal(0.0, 1.5, size=(n_rows, N_FEATURES)), columns=COLUMNS)


def run_family(name: str, test: pd.DataFrame, X: np.ndarray, repeat: int) -> dict:
    task, make = FAMILIES[name]
    train, y = training_frame(task)
    est = make()
    t0 = time.perf_counter()
    est.fit(train, y)
    fit_s = time.perf_counter() - t0
    if "n_jobs" in est.get_params():
        est.set_params(n_jobs=1)
    sample = train.assign(y=y)
    model = load_coefficients(json.dumps(export_model(est, sample, "y", f"bench-{name}")))
    theirs_fn = est.predict if task == "regression" else est.predict_proba
    model.predict(test.iloc[:100])  # compile / load the numba cache outside the timing
    results = {}
    with threadpool_limits(1):
        ours_s = best_of(lambda: results.__setitem__("ours", model.predict(test)), repeat)
        theirs_s = best_of(lambda: results.__setitem__("theirs", theirs_fn(test)), repeat)
        kernel_s = best_of(lambda: model.estimator.raw(X), repeat)
    ours, theirs = results["ours"], results["theirs"]
    got = ours.prediction if task == "regression" else ours.proba
    diff = float(np.max(np.abs(got - theirs)))
    flips = 0 if task == "regression" else int((ours.prediction != est.predict(test)).sum())
    return {"name": name, "task": task, "fit": fit_s, "sklearn": theirs_s, "ours": ours_s,
            "kernel": kernel_s, "diff": diff, "flips": flips}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=None, help="family names to run")
    parser.add_argument("--train", type=int, default=N_TRAIN, help="XGBoost / LightGBM "
                        "training rows (smaller for a quick run)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    names = [n for n in [*FAMILIES, *GBM] if not args.only or any(o in n for o in args.only)]
    for line in environment_lines():
        print(line)
    print(f"{args.rows:,} x {N_FEATURES} rows (float64 DataFrame), trained on {N_TRAIN:,} rows, "
          f"best of {args.repeat}; ratio = ours / sklearn, bar <= 1.00")
    test = test_frame(args.rows)
    X = test.to_numpy(dtype=np.float64)
    header = (f"{'family':32s} {'sklearn s':>9s} {'ours s':>8s} {'ratio':>6s} {'kernel s':>9s} "
              f"{'k.ratio':>7s} {'max|diff|':>9s} {'flips':>5s}")
    print(header)
    print("-" * len(header))
    failed = []
    for name in names:
        with threadpool_limits(1):
            r = (run_gbm(name, test, args.repeat, args.train) if name in GBM
                 else run_family(name, test, X, args.repeat))
        ratio = r["ours"] / r["sklearn"]
        if ratio > 1.0:
            failed.append(name)
        print(f"{name:32s} {r['sklearn']:9.3f} {r['ours']:8.3f} {ratio:6.2f} {r['kernel']:9.3f} "
              f"{r['kernel'] / r['sklearn']:7.2f} {r['diff']:9.1e} {r['flips']:5d}", flush=True)
        for label, got in r.get("compiled", {}).items():
            if isinstance(got, str):
                print(f"  {label}: {got}")
                continue
            seconds, diff, flips = got
            print(f"  {label:30s} {seconds:9.3f} s; ours / {label} {r['ours'] / seconds:.2f}, "
                  f"kernel / {label} {r['kernel'] / seconds:.2f}; {label} vs library "
                  f"max|diff| {diff:.1e}, {flips} flips", flush=True)
    print("all families within the bar" if not failed else f"over the bar: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
