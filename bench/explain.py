"""Exact explanations: `ratchet predict --explain 3` against shap's explainers, same rows.

For a 100-tree RandomForestClassifier (max_depth=10), a 100-stage GradientBoostingClassifier
and a LogisticRegression, each fitted on 20,000 make_classification rows (20 features, fixed
seed), exported with `export_model` and loaded with `load_coefficients`, it times in one run,
on one thread, best of --repeat:

  ours     engine.batch.score.score_csv(..., explain=ExplainRequest(top=3)) on an N-row CSV
           (default 100,000): read, score, explain, write why_1..why_3, atomic, fsync;
  scoring  the same without explanations (what --explain adds is ours - scoring);
  kernel   engine.explain.explain_matrix on the N rows in memory (like for like with shap);
           it says how many trees it explains from combination tables, from leaf tables and
           by the recursion (engine/explain/trees.py);
  shap     shap.TreeExplainer(model, feature_perturbation="tree_path_dependent").shap_values
           or shap.LinearExplainer(model, whole training sample as background).shap_values on
           the same N rows already in memory (no CSV read or write);

and checks exactness: our contributions (engine.explain.explain_matrix) against shap's, the
largest absolute difference, and base + contributions against the raw score on every row.
Bar: ours / shap <= 1.0 with differences <= 1e-9. Exit status 1 when a bar is missed.

    .venv/bin/python bench/explain.py [--rows N] [--repeat R] [--only rf|gb|lr]
"""

from __future__ import annotations

import os

# One thread everywhere, set before numba / BLAS / OpenMP load.
os.environ.update(dict.fromkeys(
    ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"], "1"))

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_of, environment_lines

TRAIN_ROWS = 20_000
N_FEATURES = 20
EXACT = 1e-9


def models():
    from sklearn import ensemble, linear_model

    return {
        "rf": ("RandomForest(100, depth 10)",
               lambda: ensemble.RandomForestClassifier(100, max_depth=10, random_state=0,
                                                       n_jobs=1)),
        "gb": ("GradientBoosting(100)",
               lambda: ensemble.GradientBoostingClassifier(n_estimators=100, random_state=0)),
        "lr": ("LogisticRegression", lambda: linear_model.LogisticRegression(max_iter=500)),
    }


def shap_values(name: str, fitted, train: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """shap's contributions, rows x features, for the explained output (class 1)."""
    import shap

    if name == "lr":
        masker = shap.maskers.Independent(train, max_samples=len(train))
        return np.asarray(shap.LinearExplainer(fitted, masker).shap_values(rows))
    values = np.asarray(shap.TreeExplainer(
        fitted, feature_perturbation="tree_path_dependent").shap_values(rows))
    return values[:, :, 1] if values.ndim == 3 else values


def run_one(name: str, label: str, make, n_rows: int, repeat: int, folder: Path) -> bool:
    from sklearn.datasets import make_classification

    from engine.batch.explain_cells import ExplainRequest
    from engine.batch.score import score_csv
    from engine.explain import explain_matrix
    from engine.export.exporter import export_model
    from engine.model import load_coefficients

    X, y = make_classification(TRAIN_ROWS + n_rows, N_FEATURES, n_informative=10,
                               random_state=0)
    names = [f"x{i}" for i in range(N_FEATURES)]
    train = pd.DataFrame(X[:TRAIN_ROWS], columns=names)
    rows = X[TRAIN_ROWS:]
    fitted = make().fit(train, y[:TRAIN_ROWS])
    model = load_coefficients(export_model(fitted, train.assign(y=y[:TRAIN_ROWS]), "y", "bench"))
    source = folder / f"{name}.csv"
    pd.DataFrame(rows, columns=names).to_csv(source, index=False)
    out = folder / f"{name}-out.csv"

    explain_matrix(model, rows[:50])  # compile (or load numba's cache) before timing
    ours = best_of(lambda: score_csv(source, out, model, "bench@1",
                                     explain=ExplainRequest(top=3)), repeat)
    scoring = best_of(lambda: score_csv(source, out, model, "bench@1"), repeat)
    kernel = best_of(lambda: explain_matrix(model, rows), repeat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        feed = pd.DataFrame(rows, columns=names)
        theirs_values = None

        def theirs():
            nonlocal theirs_values
            theirs_values = shap_values(name, fitted, train.to_numpy(), feed)

        shap_time = best_of(theirs, repeat)
    mine = explain_matrix(model, rows)
    output = 1 if mine.contributions.shape[1] == 2 else 0
    diff = float(np.abs(mine.contributions[:, output, :] - theirs_values).max())
    raw = model.estimator.raw(rows)[:, output]
    additive = float(np.abs(mine.base[output] + mine.contributions[:, output, :].sum(axis=1)
                            - raw).max())
    ratio = ours / shap_time
    if name != "lr":
        print(f"{label}: {_variants(model.estimator)}")
    ok = ratio <= 1.0 and diff <= EXACT and additive <= EXACT
    print(f"{label}: ours {ours:.3f} s (scoring alone {scoring:.3f} s, kernel {kernel:.3f} s),"
          f" shap {shap_time:.3f} s; ours/shap {ratio:.2f}, kernel/shap "
          f"{kernel / shap_time:.2f}; max |ours - shap| {diff:.1e}, max |base + sum - raw| "
          f"{additive:.1e}: {'ok' if ok else 'MISSED'}")
    return ok


def _variants(est) -> str:
    """How many trees each TreeSHAP variant explains (engine.explain.trees)."""
    from engine.explain.trees import TABLE_DEPTH, leaf_tables

    tables = leaf_tables(est, TABLE_DEPTH)
    use, combos = tables[0], tables[8] >= 0
    return (f"{int(combos.sum())} trees from combination tables, "
            f"{int((use & ~combos).sum())} from leaf tables, {int((~use).sum())} by the "
            "recursion")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--only", choices=["rf", "gb", "lr"])
    args = parser.parse_args()
    for line in environment_lines():
        print(line)
    import shap

    print(f"shap {shap.__version__}; {args.rows:,} rows x {N_FEATURES} features, "
          f"--explain 3, best of {args.repeat}")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for name, (label, make) in models().items():
            if args.only in (None, name):
                ok &= run_one(name, label, make, args.rows, args.repeat, Path(tmp))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
