"""The challenger's measured performance, requirement by requirement, from everything the gate
and the trial measured where that requirement is checked: an overall requirement on the
reference sample (the regression suite), a per-partition one (or every one, when none is
per-partition: the back-test's rule) in each back-test partition, the gate's now-test and each
labelled shadow observation. The ratchet step at acceptance is proposed from the least
favourable of these values, so the raised bound is met everywhere the challenger was measured.
"""

from __future__ import annotations

import math

from engine.formats.requirements import Requirement

Value = tuple[float, str]  # (the value, where it was measured)


def per_batch(reqs: list[Requirement]) -> list[Requirement]:
    """The requirements one batch of data is held to (a partition, a now-tested file)."""
    return [r for r in reqs if r.applies == "partition"] or list(reqs)


def _ok(value) -> bool:
    return value is not None and isinstance(value, int | float) and math.isfinite(value)


def measured(reqs: list[Requirement], gate: dict, observations) -> dict[tuple[str, str],
                                                                         list[Value]]:
    """(metric, applies) -> every value measured for it. `gate` is a stored GateResult
    document, `observations` the trial's (engine.trial.status.Observation)."""
    label = gate["candidate"]
    batch_reqs = per_batch(reqs)
    out: dict[tuple[str, str], list[Value]] = {}
    for r in reqs:
        values: list[Value] = []
        if r.applies == "overall":
            values += [(q["value"], "the reference sample")
                       for q in gate["suite"]["requirements"]
                       if q["metric"] == r.metric and _ok(q.get("value"))]
        if r in batch_reqs:
            values += [(p["metrics"][r.metric], f"back-test {p['partition']}")
                       for p in gate["backtest"]["partitions"]
                       if p["model"] == label and _ok(p["metrics"].get(r.metric))]
            nt = gate.get("nowtest")
            if nt and nt.get("metrics") and _ok(nt["metrics"].get(r.metric)):
                values.append((nt["metrics"][r.metric], "the gate's now-test"))
            for o in observations:
                metrics = (o.comparison or {}).get("metrics") if o.error is None else None
                if metrics and _ok(metrics["challenger"].get(r.metric)):
                    values.append((metrics["challenger"][r.metric],
                                   f"shadow {o.kind} {o.source_id} ({o.input})"))
        out[(r.metric, r.applies)] = values
    return out


def least_favourable(reqs: list[Requirement], values: dict) -> dict[tuple[str, str], Value]:
    out = {}
    for r in reqs:
        found = values.get((r.metric, r.applies))
        if found:
            out[(r.metric, r.applies)] = (min if r.higher_is_better else max)(
                found, key=lambda v: v[0])
    return out


def shadow_misses(reqs: list[Requirement], observations) -> list[str]:
    """Each labelled shadow observation where the challenger missed a requirement a batch is
    held to, in words."""
    out = []
    for o in observations:
        metrics = (o.comparison or {}).get("metrics") if o.error is None else None
        if not metrics:
            continue
        for r in per_batch(reqs):
            value = metrics["challenger"].get(r.metric)
            if _ok(value) and not r.met_by(value):
                out.append(f"in shadow {o.kind} {o.source_id} ({o.input}) the challenger's "
                           f"{r.metric} is {value:.4f}, missing its {r.bound_name} {r.bound:g}")
    return out
