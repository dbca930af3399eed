"""The gate's checks, each a verdict with one sentence that carries its figures: the
candidate's regression suite, its minimums in every partition of the back-test, the champion
beaten on the primary metric overall, no partition worse than the tolerance, and no metric
alarm on the latest data."""

from __future__ import annotations

import math

from engine.backtest.result import BacktestResult, Comparison
from engine.backtest.words import PERIOD_NAMES
from engine.metrics import GREATER_IS_BETTER
from engine.nowtest.result import NowtestResult
from engine.regression.suite import SuiteResult
from engine.trial.gate_result import GateCheck

SHOWN = 6  # partitions or problems named in one sentence before "and N more"


def _n(x: float | None, signed: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:+.4f}" if signed else f"{x:.4f}"


def _periods(n: int, by: str) -> str:
    one, many = PERIOD_NAMES.get(by, ("partition", "partitions"))
    return f"{n} {one if n == 1 else many}"


def _listed(items: list[str]) -> str:
    more = f"; and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return "; ".join(items[:SHOWN]) + more


def _gain(metric: str, c: Comparison) -> tuple[float, float, float]:
    """The candidate's improvement over the champion and its 95% interval, in the metric's
    good direction (positive = better, also for error metrics)."""
    sign = 1.0 if GREATER_IS_BETTER[metric] else -1.0

    def val(x):
        return math.nan if x is None else sign * x
    low, high = sorted((val(c.ci_low), val(c.ci_high)))
    return val(c.difference), low, high


def suite_check(suite: SuiteResult) -> GateCheck:
    pinned = sum(c.kind == "outlier" for c in suite.cases)
    cases = (f"{len(suite.cases)} cases ({pinned} pinned outlier{'s' if pinned != 1 else ''} "
             "of this workstation)")
    if not suite.passed:
        return GateCheck("regression suite", False,
                         f"The regression suite of {suite.model} failed: "
                         f"{_listed(suite.problems)}.")
    reqs = ", ".join(f"{r.metric} {_n(r.value)} ({r.bound_name} {r.bound:g})"
                     for r in suite.requirements)
    on = (f"; on its {suite.reference_rows} reference rows {reqs}" if reqs else
          "; it has no overall requirement to check on a reference sample")
    return GateCheck("regression suite", True,
                     f"The regression suite of {suite.model} passed: {cases} within their "
                     f"tolerance{on}.")


def _missed(p, metric: str) -> bool:
    return any(f.startswith(f"{metric} ") for f in p.failures)


def champion_misses(bt: BacktestResult, label: str) -> list[dict]:
    """The requirements the candidate `label` misses in the back-test that the champion misses
    too, on the same corpus and held to the same bound: for each, the metric, the bound and its
    scope, the partitions where the champion's value misses it (with the values), and the
    lowest (highest, for an error metric) value the candidate measured in a partition: the
    bound it would meet. Empty when the champion meets every bound the candidate misses."""
    lines = [r for r in bt.requirements if r.model == label]
    judged = [r for r in lines if r.applies == "partition"] or lines  # evaluate.judge's rule
    mine = [p for p in bt.partitions if p.model == label]
    theirs = [p for p in bt.partitions if p.model == bt.champion]
    found = []
    for line in judged:
        if not any(_missed(p, line.metric) for p in mine):
            continue
        higher = GREATER_IS_BETTER[line.metric]

        def misses(v, bound=line.bound, higher=higher):
            return v is not None and math.isfinite(v) and (v < bound if higher else v > bound)
        champ = [[p.partition, p.metrics.get(line.metric)] for p in theirs
                 if misses(p.metrics.get(line.metric))]
        if not champ:
            continue
        values = [v for v in (p.metrics.get(line.metric) for p in mine)
                  if v is not None and math.isfinite(v)]
        found.append({"metric": line.metric, "bound_name": line.bound_name, "bound": line.bound,
                      "applies": line.applies, "champion": bt.champion,
                      "champion_missed": champ, "partitions": len(theirs),
                      "candidate_reaches": (min if higher else max)(values) if values else None})
    return found


def champion_sentence(misses: list[dict], by: str) -> str:
    """The champion misses it too, in words, with the figures and the ways forward."""
    if not misses:
        return ""
    parts = []
    for m in misses:
        shown = [f"{_n(v)} in {k}" for k, v in m["champion_missed"]]
        parts.append(f"{m['metric']} {m['bound_name']} {m['bound']:g} in "
                     f"{len(m['champion_missed'])} of the {_periods(m['partitions'], by)} "
                     f"({_listed(shown)})")
    champion = misses[0]["champion"]
    return (f" The champion {champion} misses it too: {'; '.join(parts)}. Holding the "
            "candidate to a bound the champion itself does not meet keeps the worse model; "
            "either lower the bound with a reason (recorded as an override step, as "
            "`ratchet requirements set METRIC VALUE --why ... --override` does) and run the "
            "gate again, or accept the candidate anyway (recorded with the reason).")


def minimums_check(bt: BacktestResult, label: str) -> GateCheck:
    mine = [p for p in bt.partitions if p.model == label]
    if not mine:
        return GateCheck("minimums", False, f"{label} could not be judged: no partition of the "
                         "corpus has labelled, timed rows.")
    failed = [p for p in mine if not p.passed]
    if failed:
        shown = [f"{p.partition}: {', '.join(p.failures)}" for p in failed]
        return GateCheck("minimums", False,
                         f"{label} misses its minimum requirements in {len(failed)} of the "
                         f"{_periods(len(mine), bt.by)} of the corpus ({_listed(shown)})."
                         + champion_sentence(champion_misses(bt, label), bt.by))
    metric = bt.metric
    values = [(p.metrics.get(metric, math.nan), p.partition) for p in mine]
    values = [v for v in values if v[0] is not None and math.isfinite(v[0])]
    low = ""
    if values:
        worst = (min if GREATER_IS_BETTER[metric] else max)(values)
        low = f" ({'lowest' if GREATER_IS_BETTER[metric] else 'highest'} {metric}: " \
              f"{_n(worst[0])} in {worst[1]})"
    return GateCheck("minimums", True,
                     f"{label} meets its minimum requirements in every one of the "
                     f"{_periods(len(mine), bt.by)} of the corpus{low}.")


def beats_check(bt: BacktestResult, label: str, margin: float | None) -> GateCheck:
    metric = bt.metric
    overall = next((c for c in bt.comparisons if c.partition == "overall"
                    and c.challenger == label and c.metric == metric), None)
    if overall is None:
        return GateCheck("beats the champion", False,
                         f"{label} could not be compared with {bt.champion} on {metric}: no "
                         "partition has rows both scored with a defined value.")
    gain, low, high = _gain(metric, overall)
    parts = sum(1 for c in bt.comparisons if c.partition != "overall"
                and c.challenger == label and c.metric == metric)
    figures = (f"{metric} {_n(overall.challenger_value)} against {_n(overall.champion_value)}, "
               f"a difference of {_n(overall.difference, True)} on average over "
               f"{_periods(parts, bt.by)}, weighted by rows (95% interval "
               f"{_n(overall.ci_low, True)} to {_n(overall.ci_high, True)})")
    if margin is None:
        passed = math.isfinite(low) and low > 0
        rule = ("the interval excludes zero" if passed else
                "the interval does not exclude zero" if math.isfinite(low) and high > 0 else
                "the candidate is worse" if math.isfinite(high) else "no interval")
    else:
        passed = math.isfinite(gain) and gain >= margin
        rule = (f"{'at least' if passed else 'less than'} the declared margin {margin:g}")
    verb = "beats" if passed else "does not beat"
    return GateCheck("beats the champion", passed,
                     f"{label} {verb} {bt.champion}: {figures}; {rule}.")


def tolerance_check(bt: BacktestResult, label: str, tolerance: float) -> GateCheck:
    metric = bt.metric
    per = [c for c in bt.comparisons if c.partition != "overall" and c.challenger == label
           and c.metric == metric]
    judged = [(c, _gain(metric, c)[0]) for c in per]
    judged = [(c, g) for c, g in judged if math.isfinite(g)]
    if not judged:
        return GateCheck("tolerance", False, f"{label} could not be compared with "
                         f"{bt.champion} in any partition.")
    worse = [(c, g) for c, g in judged if g < -tolerance]
    if worse:
        shown = [f"{c.partition}: {_n(c.challenger_value)} against {_n(c.champion_value)} "
                 f"({_n(c.difference, True)})" for c, _ in worse]
        return GateCheck("tolerance", False,
                         f"{label} is worse than {bt.champion} on {metric} by more than the "
                         f"tolerance {tolerance:g} in {len(worse)} of the "
                         f"{_periods(len(judged), bt.by)} ({_listed(shown)}).")
    c = min(judged, key=lambda item: item[1])[0]
    return GateCheck("tolerance", True,
                     f"No partition is worse than {bt.champion} by more than the tolerance "
                     f"{tolerance:g} on {metric} (the least favourable, {c.partition}: "
                     f"{_n(c.difference, True)}).")


def nowtest_check(nt: NowtestResult, label: str) -> GateCheck:
    name = nt.input.replace("\\", "/").rsplit("/", 1)[-1]
    missed = [r for r in nt.reasons if r.kind == "metric"]
    if missed:
        return GateCheck("now-test", False, f"The now-test of {label} on the latest data "
                         f"({name}) raised a metric alarm: "
                         f"{_listed([r.message.rstrip('.') for r in missed])}.")
    if nt.labelled:
        figures = ", ".join(f"{r['metric']} {_n(r['value'])} ({r['bound_name']} "
                            f"{r['bound']:g})" for r in nt.requirements)
        what = f"on its {nt.labelled} labelled rows {figures or 'no requirement applies'}"
    else:
        what = "the file has no labels, so no metric was measured"
    other = sorted({r.subject for r in nt.reasons if r.kind != "metric"})
    data = (f"; the latest data itself drifts or falls out of range ({', '.join(other)}), "
            "which is not held against the candidate" if other else "")
    return GateCheck("now-test", True, f"The now-test of {label} on the latest data ({name}) "
                     f"raised no metric alarm: {what}{data}.")
