"""A back-test's verdicts in plain words (the report, the app and the command line show them)."""

from __future__ import annotations

import math

from engine.backtest.result import BacktestResult

PERIOD_NAMES = {"month": ("month", "months"), "quarter": ("quarter", "quarters"),
                "year": ("year", "years")}


def _count(n: int, by: str, timezone: str | None = None) -> str:
    """"12 months", or "12 months in America/New_York" when times were converted to a zone."""
    one, many = PERIOD_NAMES.get(by, ("partition", "partitions"))
    zone = f" in {timezone}" if timezone else ""
    return f"{n} {one if n == 1 else many}{zone}"


def _num(x: float | None, signed: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:+.4f}" if signed else f"{x:.4f}"


def champion_line(result: BacktestResult) -> str:
    mine = [p for p in result.partitions if p.model == result.champion]
    failed = [p for p in mine if not p.passed]
    if not mine:
        return f"{result.champion} could not be judged: no partition has labelled rows."
    if not failed:
        return (f"{result.champion} meets its requirements in every one of the "
                f"{_count(len(mine), result.by, result.timezone)}.")
    shown = "; ".join(f"{p.partition}: {', '.join(p.failures)}" for p in failed[:6])
    more = f"; and {len(failed) - 6} more" if len(failed) > 6 else ""
    return (f"{result.champion} misses its requirements in {len(failed)} of the "
            f"{_count(len(mine), result.by, result.timezone)} ({shown}{more}).")


def challenger_line(result: BacktestResult, label: str) -> str:
    overall = next((c for c in result.comparisons if c.partition == "overall"
                    and c.challenger == label and c.metric == result.metric), None)
    if overall is None:
        return (f"{label} could not be compared with {result.champion} on {result.metric}: "
                "no partition has rows both scored with a defined value.")
    per = [c for c in result.comparisons if c.partition != "overall"
           and c.challenger == label and c.metric == result.metric]
    tally = {w: sum(c.outcome == w for c in per) for w in ("better", "worse")}
    unclear = len(per) - tally["better"] - tally["worse"]
    verdict = result.verdict.get(label, "no clear difference")
    head = (f"{label} is {verdict} than {result.champion}" if verdict != "no clear difference"
            else f"{label} shows no clear difference from {result.champion}")
    mine = [p for p in result.partitions if p.model == label]
    meets = sum(p.passed for p in mine)
    return (f"{head} on {result.metric}: {_num(overall.difference, True)} on average over "
            f"{_count(len(per), result.by, result.timezone)}, weighted by rows (95% interval "
            f"{_num(overall.ci_low, True)} to {_num(overall.ci_high, True)}); better in "
            f"{tally['better']}, worse in {tally['worse']}, no clear difference in {unclear}. "
            f"It meets its own requirements in {meets} of {len(mine)}.")


def summary_lines(result: BacktestResult) -> list[str]:
    lines = [champion_line(result)]
    lines += [challenger_line(result, label) for label in result.challengers]
    skipped = []
    if result.unlabelled:
        skipped.append(f"{result.unlabelled} without an outcome (unlabelled)")
    if result.untimed:
        skipped.append(f"{result.untimed} {'more ' if result.unlabelled else ''}without a "
                       "readable time (untimed)")
    if skipped:
        lines.append(f"Of {result.rows} rows, {' and '.join(skipped)} were counted and left "
                     "out of the metrics.")
    return lines
