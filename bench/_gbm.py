"""XGBoost and LightGBM models for bench/predict_kernel.py: 500 trees (depth 6 / 63 leaves),
binary and 5-class, 5% NaN cells; timed on one thread against the library's own predict_proba
and, where installed, the compiled runtimes TL2cgen (Treelite's C generator, built with gcc)
and lleaves (LLVM, LightGBM only). Each compiled runtime's largest difference from the library
is reported (they are not always exact)."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import best_of
from sklearn.datasets import make_classification

from engine.export.exporter import export_model
from engine.model import load_coefficients

TREES = 500
NAN_SHARE = 0.05
GBM = {"XGBoost-binary": ("xgboost", 2), "XGBoost-5class": ("xgboost", 5),
       "LightGBM-binary": ("lightgbm", 2), "LightGBM-5class": ("lightgbm", 5)}


def _train(n_classes: int, n_train: int, columns: list[str]):
    X, y = make_classification(n_train, len(columns), n_informative=10, n_redundant=4,
                               n_classes=n_classes, random_state=0)
    X[np.random.default_rng(1).random(X.shape) < NAN_SHARE] = np.nan
    return pd.DataFrame(X, columns=columns), y


def _fit(library: str, X, y):
    if library == "xgboost":
        import xgboost

        return xgboost.XGBClassifier(n_estimators=TREES, max_depth=6, n_jobs=1,
                                     tree_method="hist").fit(X, y)
    import lightgbm

    return lightgbm.LGBMClassifier(n_estimators=TREES, num_leaves=63, n_jobs=1,
                                   verbose=-1).fit(X, y)


def _tl2cgen(library: str, est, X: np.ndarray, tmp: Path, repeat: int):
    import tl2cgen
    import treelite

    if library == "xgboost":
        model = treelite.frontend.from_xgboost(est.get_booster())
    else:
        model = treelite.frontend.from_lightgbm(est.booster_)
    lib = tmp / f"{library}.so"
    tl2cgen.export_lib(model, toolchain="gcc", libpath=str(lib), params={"parallel_comp": 8})
    predictor = tl2cgen.Predictor(str(lib), nthread=1)
    dtype = "float32" if library == "xgboost" else "float64"
    data = X.astype(dtype)  # its DMatrix cannot cast under numpy 2
    out = {}

    def run():
        dm = tl2cgen.DMatrix(data, dtype=dtype)
        out["p"] = np.asarray(predictor.predict(dm)).reshape(len(X), -1)

    return best_of(run, repeat), out["p"]


def _lleaves(est, X: np.ndarray, tmp: Path, repeat: int):
    import lleaves

    path = tmp / "model.txt"
    est.booster_.save_model(str(path))
    model = lleaves.Model(model_file=str(path))
    model.compile(cache=str(tmp / "lleaves.o"))
    out = {}
    seconds = best_of(lambda: out.__setitem__("p", model.predict(X, n_jobs=1)), repeat)
    return seconds, np.asarray(out["p"]).reshape(len(X), -1)


def _as_proba(p: np.ndarray) -> np.ndarray:
    return np.column_stack([1 - p[:, 0], p[:, 0]]) if p.shape[1] == 1 else p


def run_gbm(name: str, test: pd.DataFrame, repeat: int, n_train: int) -> dict:
    library, n_classes = GBM[name]
    train, y = _train(n_classes, n_train, list(test.columns))
    t0 = time.perf_counter()
    est = _fit(library, train, y)
    fit_s = time.perf_counter() - t0
    test = test.mask(np.random.default_rng(2).random(test.shape) < NAN_SHARE)
    X = test.to_numpy(dtype=np.float64)
    model = load_coefficients(json.dumps(export_model(est, train.assign(y=y), "y", "bench")))
    model.predict(test.iloc[:100])
    res = {}
    ours_s = best_of(lambda: res.__setitem__("ours", model.predict(test)), repeat)
    theirs_s = best_of(lambda: res.__setitem__("theirs", est.predict_proba(test)), repeat)
    kernel_s = best_of(lambda: model.estimator.raw(X), repeat)
    theirs = res["theirs"]
    r = {"name": name, "task": "multiclass" if n_classes > 2 else "binary", "fit": fit_s,
         "sklearn": theirs_s, "ours": ours_s, "kernel": kernel_s,
         "diff": float(np.abs(res["ours"].proba - theirs).max()),
         "flips": int((res["ours"].proba.argmax(1) != theirs.argmax(1)).sum()), "compiled": {}}
    with tempfile.TemporaryDirectory() as tmp:
        runtimes = [("tl2cgen", lambda: _tl2cgen(library, est, X, Path(tmp), repeat))]
        if library == "lightgbm":
            runtimes.append(("lleaves", lambda: _lleaves(est, X, Path(tmp), repeat)))
        for label, go in runtimes:
            try:
                seconds, p = go()
            except Exception as exc:  # not installed, or it could not build: say so
                r["compiled"][label] = f"unavailable ({type(exc).__name__}: {exc})"[:160]
                continue
            p = _as_proba(p)
            r["compiled"][label] = (seconds, float(np.abs(p - theirs).max()),
                                    int((p.argmax(1) != theirs.argmax(1)).sum()))
    return r
