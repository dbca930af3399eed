"""The back-test bar of issue 16: our own work against our own floor and against scikit-learn.

The whole demo back-test (engine.backtest.run.run_backtest of the champion and one challenger,
2013 by month, 200-draw paired bootstraps) against

  floor    reading the corpus's needed columns once and scoring every row with both models with
           our kernel (what no back-test can skip), and
  sklearn  scikit-learn's bare predict_proba of the same two models on the corpus's rows,
           already in memory (its default threads),

on the data, models and steps of bench/backtest.py (its corpus and challenger bundle, built
there on first use). Timed in this process, interleaved, best of --repeat, after a warm-up.
Bars: ours / floor <= 1.3 and ours / sklearn <= 0.5 (the goal beyond: 0.3). Exit status 1 when
a bar is missed.

    .venv/bin/python bench/backtest_bar.py [--repeat R]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # as bench/backtest.py, before any import

sys.path.insert(0, str(Path(__file__).resolve().parent))
import backtest as bt  # bench/backtest.py: the data and the measured steps

FLOOR_BAR, SKLEARN_BAR, GOAL = 1.3, 0.5, 0.3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/backtest_bar.py",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timings kept: the best")
    args = parser.parse_args(argv)
    bt.ensure_data()
    from engine.backtest.run import run_backtest

    champion, challenger = bt.contenders()
    pipelines, rows = bt.sklearn_reference(champion, challenger)
    steps = {
        "floor": lambda: bt.floor_step(champion, challenger),
        "sklearn": lambda: [p.predict_proba(rows) for p in pipelines],
        "ours": lambda: run_backtest(bt.CORPUS, "time_hour", "month", champion, [challenger]),
    }
    for fn in steps.values():  # warm-up: page cache, compiled kernels, first calls
        fn()
    times = {name: float("inf") for name in steps}
    for _ in range(args.repeat):  # interleaved, so a busy moment hurts every step alike
        for name, fn in steps.items():
            started = time.perf_counter()
            fn()
            times[name] = min(times[name], time.perf_counter() - started)
    print(f"{champion.label} + {challenger.label} on {bt.CORPUS.name}, best of {args.repeat}, "
          f"{os.cpu_count()} cores; load average at the end "
          + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    for name, label in (("floor", "read needed columns + score both (our kernel)"),
                        ("sklearn", "scikit-learn predict_proba, both models"),
                        ("ours", "run_backtest, champion + challenger")):
        print(f"  {label:46s} {times[name]:7.3f} s")
    vs_floor = times["ours"] / times["floor"]
    vs_sklearn = times["ours"] / times["sklearn"]
    print(f"ours / floor {vs_floor:.2f} (bar <= {FLOOR_BAR}); ours / scikit-learn "
          f"{vs_sklearn:.2f} (bar <= {SKLEARN_BAR}, goal {GOAL})")
    ok = vs_floor <= FLOOR_BAR and vs_sklearn <= SKLEARN_BAR
    print("bars met" if ok else "bar MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
