"""Batch prediction of a CSV file: our score_csv against a naive script and the I/O floor.

On a generated N x 20 numeric CSV (default 1,000,000 rows, fixed seed, float text as pandas
writes it; written once into .bench-data/ and reused), for a LogisticRegression and a 100-tree
RandomForestClassifier (max_depth=10), each fitted on 20,000 make_classification rows, exported
with `export_model` and loaded with `load_coefficients`, it times in one run:

  ours   engine.batch.score.score_csv(input, output, model, "bench@1"): streamed in chunks,
         input records + prediction + proba_<class> + status + error, atomic, with its fsync;
  naive  pandas.read_csv -> scikit-learn predict_proba -> to_csv of the input + probabilities;
  floor  pyarrow.csv.read_csv + pyarrow.csv.write_csv of the table + the probability columns
         (the fastest CSV reader and writer available; computing the probabilities is not timed);

and the peak resident memory of our run at N rows and at 10 x N rows (a file made by repeating
the N-row file's data lines ten times, streamed). Every measured step runs in a fresh child
process (this file re-invoked with --child), on one thread (see THREADS), and reports its own
peak memory (see peak_rss_mb). Times cover only the step itself: not the interpreter start,
imports, model load or warm-up. Bars: ours/naive <= 0.5, ours/floor <= 1.5, peak <= 500 MB at N
and at 10 x N rows, and no more at 10 x N than at N (within 10% + 16 MB of noise). Exit status 1
when a bar is missed.

    .venv/bin/python bench/predict_csv.py [--rows N] [--quick] [--repeat R] [--naive-repeat R]
                                          [--only lr|rf]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

# One thread everywhere, set before numba / BLAS / OpenMP load; the children inherit it.
os.environ.update(dict.fromkeys(
    ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"), "1"))
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DATA_DIR = ROOT / ".bench-data"
SEED = 20240601
N_FEATURES = 20
N_TRAIN = 20_000
COLUMNS = [f"x{i}" for i in range(N_FEATURES)]
LABEL = "bench@1"
MB = 1 << 20
THREADS = ("1 thread for every measured step: OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS=1, "
           "threadpoolctl.threadpool_limits(1) around scoring (sklearn/BLAS/OpenMP), "
           "pyarrow.set_cpu_count(1), pyarrow read_csv(use_threads=False) as score_csv reads; "
           "numba kernel single-threaded; sklearn predict_proba with n_jobs=1")
BARS = {"naive": 0.5, "floor": 1.5, "peak_mb": 500.0}
MODELS = {
    "lr": "LogisticRegression(max_iter=500)",
    "rf": "RandomForestClassifier(100 trees, max_depth=10)",
}


# -- data -------------------------------------------------------------------------------------

def generate_csv(path: Path, rows: int) -> None:
    """rows x 20 normal(0, 1.5) floats, fixed seed, written by pandas (shortest repr) in pieces."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(SEED)
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        for start in range(0, rows, 100_000):
            n = min(100_000, rows - start)
            frame = pd.DataFrame(rng.normal(0.0, 1.5, size=(n, N_FEATURES)), columns=COLUMNS)
            frame.to_csv(fh, index=False, header=start == 0, lineterminator="\n")
    os.replace(tmp, path)


def repeat_csv(source: Path, path: Path, times: int) -> None:
    """The header of `source`, then its data lines `times` times over (streamed)."""
    tmp = path.with_name(path.name + ".part")
    with source.open("rb") as src, tmp.open("wb") as out:
        out.write(src.readline())
        body = src.tell()
        for _ in range(times):
            src.seek(body)
            shutil.copyfileobj(src, out, 16 * MB)
    os.replace(tmp, path)


def input_file(rows: int, times: int = 1) -> Path:
    DATA_DIR.mkdir(exist_ok=True)
    base = DATA_DIR / f"predict-{rows}x{N_FEATURES}-seed{SEED}.csv"
    if not base.exists():
        print(f"generating {base.relative_to(ROOT)} ...", flush=True)
        generate_csv(base, rows)
    if times == 1:
        return base
    path = DATA_DIR / f"predict-{rows * times}x{N_FEATURES}-seed{SEED}-repeated.csv"
    if not path.exists():
        print(f"generating {path.relative_to(ROOT)} ({times} x the data lines) ...", flush=True)
        repeat_csv(base, path, times)
    return path


def warm_page_cache(path: Path) -> None:
    with path.open("rb") as fh:
        while fh.read(16 * MB):
            pass


# -- models -----------------------------------------------------------------------------------

def fit_models(names: list[str], work: Path) -> dict[str, dict]:
    """Fit, export and save each model: coefficients JSON for ours, a pickle for sklearn."""
    import pickle

    import pandas as pd
    from sklearn import ensemble, linear_model
    from sklearn.datasets import make_classification

    from engine.export.exporter import export_model
    from engine.model import load_coefficients

    X, y = make_classification(N_TRAIN, N_FEATURES, n_informative=10, n_redundant=4,
                               random_state=0)
    train = pd.DataFrame(X, columns=COLUMNS)
    makers = {
        "lr": lambda: linear_model.LogisticRegression(max_iter=500),
        "rf": lambda: ensemble.RandomForestClassifier(100, max_depth=10, random_state=0,
                                                      n_jobs=-1),
    }
    saved = {}
    for name in names:
        est = makers[name]()
        start = time.perf_counter()
        est.fit(train, y)
        fit_s = time.perf_counter() - start
        if "n_jobs" in est.get_params():
            est.set_params(n_jobs=1)  # predict on one thread, like ours
        text = json.dumps(export_model(est, train.assign(y=y), "y", "bench"))
        load_coefficients(text).predict(train.iloc[:100])  # compile / fill the numba cache
        (work / f"{name}.json").write_text(text, encoding="utf-8")
        with (work / f"{name}.pkl").open("wb") as fh:
            pickle.dump(est, fh)
        saved[name] = {"json": str(work / f"{name}.json"), "pkl": str(work / f"{name}.pkl"),
                       "fit_s": fit_s, "json_mb": len(text) / MB}
    return saved


# -- the measured steps (each in a fresh child process) ---------------------------------------

def child_ours(spec: dict) -> dict:
    import pyarrow as pa
    from threadpoolctl import threadpool_limits

    from engine.batch.score import provenance_path, score_csv
    from engine.model import load_coefficients

    pa.set_cpu_count(1)
    source, output = Path(spec["input"]), Path(spec["output"])
    model = load_coefficients(Path(spec["model"]).read_text(encoding="utf-8"))
    with threadpool_limits(1):
        # Warm-up on the first 2,000 rows: numba cache load, first-call costs of pyarrow.
        head_in, head_out = output.with_name("warm-in.csv"), output.with_name("warm-out.csv")
        with source.open("rb") as src:
            head_in.write_bytes(b"".join(src.readline() for _ in range(2001)))
        score_csv(head_in, head_out, model, LABEL)
        for p in (head_in, head_out, provenance_path(head_out)):
            p.unlink()
        before = peak_rss_mb()
        start = time.perf_counter()
        result = score_csv(source, output, model, LABEL)
        seconds = time.perf_counter() - start
    provenance_path(output).unlink()
    return {"seconds": seconds, "rows": result.rows, "rejected": result.rejected,
            "before_mb": before}


def child_naive(spec: dict) -> dict:
    import pickle

    import pandas as pd
    from threadpoolctl import threadpool_limits

    with open(spec["model"], "rb") as fh:
        est = pickle.load(fh)
    with threadpool_limits(1):
        t0 = time.perf_counter()
        frame = pd.read_csv(spec["input"])
        t1 = time.perf_counter()
        proba = est.predict_proba(frame)
        t2 = time.perf_counter()
        out = frame.assign(**{f"proba_{c}": proba[:, k] for k, c in enumerate(est.classes_)})
        out.to_csv(spec["output"], index=False)
        t3 = time.perf_counter()
    return {"seconds": t3 - t0, "read": t1 - t0, "predict": t2 - t1, "write": t3 - t2}


def child_floor(spec: dict) -> dict:
    import pickle

    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv
    from threadpoolctl import threadpool_limits

    pa.set_cpu_count(1)
    with open(spec["model"], "rb") as fh:
        est = pickle.load(fh)
    with threadpool_limits(1):
        t0 = time.perf_counter()
        table = pcsv.read_csv(spec["input"], read_options=pcsv.ReadOptions(use_threads=False))
        t1 = time.perf_counter()
        X = np.column_stack([table.column(c).to_numpy() for c in COLUMNS])  # not timed
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # no feature names on a bare matrix
            proba = est.predict_proba(X)
        del X
        t2 = time.perf_counter()
        for k, c in enumerate(est.classes_):
            table = table.append_column(f"proba_{c}", pa.array(proba[:, k]))
        pcsv.write_csv(table, spec["output"])
        t3 = time.perf_counter()
    return {"seconds": (t1 - t0) + (t3 - t2), "read": t1 - t0, "write": t3 - t2}


CHILDREN = {"ours": child_ours, "naive": child_naive, "floor": child_floor}


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB.

    Linux: VmHWM, the high-water mark of this process image. Not ru_maxrss: exec keeps the
    larger of the old and new images' peaks, so a child's ru_maxrss (and RUSAGE_CHILDREN)
    starts at the parent's resident size at fork time, here the parent that fitted the models.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource  # elsewhere: the best we have (see above)

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (MB if sys.platform == "darwin" else 1024)


def run_child(step: str, **spec) -> dict:
    """Run one measured step in a fresh process; it reports its times and peak memory (MB)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", step, json.dumps(spec)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"child {step} failed with exit status {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def best(step: str, repeat: int, **spec) -> dict:
    """Fastest of `repeat` fresh-process runs; the peak memory is the largest seen."""
    runs = [run_child(step, **spec) for _ in range(repeat)]
    fastest = min(runs, key=lambda r: r["seconds"])
    return {**fastest, "peak_mb": max(r["peak_mb"] for r in runs)}


# -- the run ----------------------------------------------------------------------------------

def proba_difference(ours: Path, naive: Path, rows: int = 10_000) -> float:
    """Largest |ours - sklearn| over the probability columns of the first rows."""
    import numpy as np
    import pandas as pd

    a, b = pd.read_csv(ours, nrows=rows), pd.read_csv(naive, nrows=rows)
    cols = [c for c in b.columns if c.startswith("proba_")]
    assert (a[COLUMNS].to_numpy() == b[COLUMNS].to_numpy()).all(), "inputs differ"
    return float(np.abs(a[cols].to_numpy() - b[cols].to_numpy()).max())


def header_lines(args, base: Path, big: Path | None, models: dict) -> list[str]:
    import pandas
    import pyarrow
    import threadpoolctl
    from _common import environment_lines

    lines = [*environment_lines(),
             f"pandas {pandas.__version__}, pyarrow {pyarrow.__version__}, "
             f"threadpoolctl {threadpoolctl.__version__}",
             f"threads: {THREADS}",
             f"input: {base.relative_to(ROOT)} ({args.rows:,} x {N_FEATURES}, "
             f"{base.stat().st_size / MB:,.0f} MB)"]
    if big is not None:
        lines.append(f"       {big.relative_to(ROOT)} ({10 * args.rows:,} rows, "
                     f"{big.stat().st_size / MB:,.0f} MB)")
    for name, m in models.items():
        lines.append(f"model {name}: {MODELS[name]}, fitted on {N_TRAIN:,} rows in "
                     f"{m['fit_s']:.1f} s, coefficients {m['json_mb']:.1f} MB of JSON")
    lines.append(f"times: best of {args.repeat} fresh processes for ours and the floor, "
                 f"{args.naive_repeat} for naive, 1 for ours at 10x rows; page cache warm; "
                 "excluding interpreter start, imports, model load and warm-up; ours includes "
                 "its fsync")
    lines.append("load average (1, 5, 15 min) at the start: "
                 + ", ".join(f"{x:.2f}" for x in args.load))
    return lines


def measure(name: str, model: dict, base: Path, big: Path | None, work: Path,
            repeat: int, naive_repeat: int) -> dict:
    out = {}
    ours_out, naive_out, floor_out = (work / f"{name}-{s}.csv" for s in ("ours", "naive", "floor"))
    out["ours"] = best("ours", repeat, model=model["json"], input=str(base), output=str(ours_out))
    print(f"  {name} ours   {out['ours']['seconds']:7.2f} s  peak {out['ours']['peak_mb']:6.0f} MB"
          f" (before scoring {out['ours']['before_mb']:.0f} MB), "
          f"{out['ours']['rejected']} rejected", flush=True)
    out["naive"] = best("naive", naive_repeat, model=model["pkl"], input=str(base),
                        output=str(naive_out))
    n = out["naive"]
    print(f"  {name} naive  {n['seconds']:7.2f} s  (read_csv {n['read']:.2f}, predict_proba "
          f"{n['predict']:.2f}, to_csv {n['write']:.2f})", flush=True)
    out["diff"] = proba_difference(ours_out, naive_out)
    ours_out.unlink()
    naive_out.unlink()
    out["floor"] = best("floor", repeat, model=model["pkl"], input=str(base),
                        output=str(floor_out))
    f = out["floor"]
    print(f"  {name} floor  {f['seconds']:7.2f} s  (read {f['read']:.2f}, write "
          f"{f['write']:.2f})", flush=True)
    floor_out.unlink()
    if big is not None:
        out["big"] = run_child("ours", model=model["json"], input=str(big),
                               output=str(work / f"{name}-big.csv"))
        (work / f"{name}-big.csv").unlink()
        print(f"  {name} ours x10 {out['big']['seconds']:5.2f} s  peak "
              f"{out['big']['peak_mb']:6.0f} MB", flush=True)
    return out


def verdicts(name: str, r: dict) -> list[tuple[str, bool]]:
    ours = r["ours"]
    checks = [
        (f"{name}: ours/naive {ours['seconds'] / r['naive']['seconds']:.2f} <= "
         f"{BARS['naive']}", ours["seconds"] / r["naive"]["seconds"] <= BARS["naive"]),
        (f"{name}: ours/floor {ours['seconds'] / r['floor']['seconds']:.2f} <= "
         f"{BARS['floor']}", ours["seconds"] / r["floor"]["seconds"] <= BARS["floor"]),
        (f"{name}: peak {ours['peak_mb']:.0f} MB <= {BARS['peak_mb']:.0f} MB",
         ours["peak_mb"] <= BARS["peak_mb"]),
        (f"{name}: every row scored (rejected {ours['rejected']})", ours["rejected"] == 0),
    ]
    if "big" in r:
        big = r["big"]["peak_mb"]
        checks += [
            (f"{name}: peak at 10x rows {big:.0f} MB <= {BARS['peak_mb']:.0f} MB",
             big <= BARS["peak_mb"]),
            (f"{name}: peak at 10x rows {big:.0f} MB no more than at 1x {ours['peak_mb']:.0f}"
             " MB (+10% + 16 MB noise)", big <= ours["peak_mb"] * 1.10 + 16),
        ]
    return checks


def report(results: dict, rows: int) -> bool:
    head = (f"{'model':6s} {'rows':>11s} {'ours s':>7s} {'naive s':>8s} {'floor s':>8s} "
            f"{'ours/naive':>10s} {'ours/floor':>10s} {'peak MB':>8s} {'max|dp|':>8s}")
    print()
    print(head)
    print("-" * len(head))
    for name, r in results.items():
        o, n, f = r["ours"]["seconds"], r["naive"]["seconds"], r["floor"]["seconds"]
        print(f"{name:6s} {rows:>11,} {o:7.2f} {n:8.2f} {f:8.2f} {o / n:10.2f} {o / f:10.2f} "
              f"{r['ours']['peak_mb']:8.0f} {r['diff']:8.1e}")
        if "big" in r:
            big = r["big"]
            print(f"{name:6s} {big['rows']:>11,} {big['seconds']:7.2f} {'':8s} {'':8s} {'':10s} "
                  f"{'':10s} {big['peak_mb']:8.0f}")
    print(f"bars: ours/naive <= {BARS['naive']}, ours/floor <= {BARS['floor']}, peak <= "
          f"{BARS['peak_mb']:.0f} MB and no more at 10x rows; max|dp| = largest |ours - sklearn| "
          "probability on the first 10,000 rows")
    ok = True
    for name, r in results.items():
        for text, passed in verdicts(name, r):
            ok &= passed
            print(f"  {'ok  ' if passed else 'MISS'} {text}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the base file")
    parser.add_argument("--quick", action="store_true", help="skip the 10 x rows run")
    parser.add_argument("--repeat", type=int, default=3,
                        help="fresh-process runs of ours and of the floor (best is kept)")
    parser.add_argument("--naive-repeat", type=int, default=1,
                        help="runs of the naive script (~30 s each at 1M rows)")
    parser.add_argument("--only", choices=sorted(MODELS), action="append", help="model(s)")
    parser.add_argument("--child", nargs=2, metavar=("STEP", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = CHILDREN[args.child[0]](json.loads(args.child[1]))
        print(json.dumps({**result, "peak_mb": peak_rss_mb()}), flush=True)
        return 0
    warnings.simplefilter("ignore")
    started = time.perf_counter()
    args.load = os.getloadavg()  # other work on the machine makes the timings noisy
    base = input_file(args.rows)
    big = None if args.quick else input_file(args.rows, 10)
    work = Path(tempfile.mkdtemp(prefix="predict-csv-run-", dir=DATA_DIR))
    try:
        models = fit_models(args.only or list(MODELS), work)
        for line in header_lines(args, base, big, models):
            print(line)
        results = {}
        for name, model in models.items():
            for path in (base, big):
                if path is not None:
                    warm_page_cache(path)
            results[name] = measure(name, model, base, big, work, args.repeat,
                                    args.naive_repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ok = report(results, args.rows)
    print(f"total {time.perf_counter() - started:.0f} s; "
          + ("all bars met" if ok else "some bars missed"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
