"""Where a trial stands: its progress toward the declared batches or days, and champion and
challenger side by side over the observations (shadow batches and now-tests)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field

from engine.regression.ratchet import steps
from engine.trial.shadow import trial_folder
from engine.trial.store import get_gate, shadow_rows

DAY = 86400.0


@dataclass(frozen=True, slots=True)
class Observation:
    id: int
    kind: str  # "batch" | "nowtest"
    at: str
    input: str
    source_id: int | None  # the operator's batch id or now-test id
    rows: int | None
    output: str | None  # the challenger's outputs under the workspace's trials/ folder
    comparison: dict | None  # engine.trial.compare (+ the alarms of both, for now-tests)
    error: str | None  # why the shadow run failed (it is then not counted)


@dataclass(frozen=True, slots=True)
class TrialStatus:
    id: int
    model_id: str
    champion: str
    challenger: str
    status: str  # running | accepted | rejected | rolled-back
    started_at: str
    started_by: str
    batches_target: int | None
    days_target: float | None
    batches_done: int  # different inputs (by content) the challenger ran on successfully
    days_elapsed: float
    due: bool  # every declared target reached
    progress: str
    gate_id: int
    gate_verdict: str
    gate_reasons: list[str]
    observations: list[Observation]
    side_by_side: dict
    closed_at: str | None = None
    closed_by: str | None = None
    reason: str | None = None
    forced: bool = False
    steps: list[dict] = field(default_factory=list)  # requirement steps this trial took
    folder: str = ""

    def to_json(self) -> dict:
        return asdict(self)


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _weighted(pairs: list[tuple[float | None, int]]) -> float | None:
    kept = [(v, w) for v, w in pairs if v is not None and math.isfinite(v) and w > 0]
    total = sum(w for _, w in kept)
    return None if not total else sum(v * w for v, w in kept) / total


def side_by_side(observations: list[Observation], gate: dict | None) -> dict:
    """Over the successful observations: rows, agreement and probability gap (weighted by the
    rows both scored), the metrics of both (weighted by labelled rows), the alarms each raised
    on the now-tested files; and the gate's back-test comparison for reference."""
    done = [o for o in observations if o.error is None and o.comparison]
    comps = [o.comparison for o in done]
    metrics: dict[str, dict] = {}
    for side in ("champion", "challenger"):
        names = dict.fromkeys(m for c in comps if c.get("metrics") for m in c["metrics"][side])
        for m in names:
            metrics.setdefault(m, {})[side] = _weighted(
                [(c["metrics"][side].get(m), c["labelled"]) for c in comps if c.get("metrics")])
    nowtests = [c for o, c in zip(done, comps, strict=True) if o.kind == "nowtest"]
    doc = {"observations": len(done), "failed": len(observations) - len(done),
           "rows": sum(c["rows"] for c in comps),
           "scored_both": sum(c["scored_both"] for c in comps),
           "agreement": _weighted([(c.get("agreement"), c["scored_both"]) for c in comps]),
           "mean_abs_proba_diff": _weighted([(c.get("mean_abs_proba_diff"), c["scored_both"])
                                             for c in comps]),
           "labelled": sum(c["labelled"] for c in comps), "metrics": metrics,
           "alarms": {"champion": sum(bool(c.get("champion_alarms")) for c in nowtests),
                      "challenger": sum(bool(c.get("challenger_alarms")) for c in nowtests),
                      "nowtests": len(nowtests)}}
    if gate is not None:
        bt = gate.get("backtest", {})
        overall = next((c for c in bt.get("comparisons", []) if c["partition"] == "overall"
                        and c["metric"] == gate.get("metric")), None)
        doc["gate"] = {"metric": gate.get("metric"), "comparison": overall}
    return doc


def _progress(batches_target, days_target, done: int, days: float) -> str:
    parts = []
    if batches_target is not None:
        parts.append(f"{done} of {batches_target} batches")
    if days_target is not None:
        parts.append(f"{days:.1f} of {days_target:g} days")
    return "; ".join(parts)


def _distinct_inputs(db, observations: list[Observation]) -> int:
    """How many different inputs the challenger ran on successfully: the same file predicted
    five times, or predicted and now-tested, is one batch of evidence, not five. Inputs are
    told apart by content (the sha256 recorded with the operator's batch or now-test)."""
    seen = set()
    for o in observations:
        if o.error is not None:
            continue
        table = "batches" if o.kind == "batch" else "nowtests"
        row = (db.execute(f"SELECT input_sha256 FROM {table} WHERE id = ?",
                          (o.source_id,)).fetchone() if o.source_id is not None else None)
        seen.add(row["input_sha256"] if row is not None else ("observation", o.id))
    return len(seen)


def build_status(registry, row, now: dt.datetime | None = None) -> TrialStatus:
    """The TrialStatus of a trials row."""
    db = registry.db
    now = now or dt.datetime.now(dt.UTC)
    observations = [Observation(r["id"], r["kind"], r["at"], r["input"], r["source_id"],
                                r["rows"], r["output"], r["comparison"], r["error"])
                    for r in shadow_rows(db, row["id"])]
    done = _distinct_inputs(db, observations)
    end = _time(row["closed_at"]) if row["closed_at"] else now
    days = max(0.0, (end - _time(row["started_at"])).total_seconds() / DAY)
    due = ((row["batches"] is None or done >= row["batches"])
           and (row["days"] is None or days >= row["days"]))
    gate = get_gate(db, row["gate_id"])
    taken = [s for s in steps(db, row["model_id"]) if s.get("trial_id") == row["id"]]
    return TrialStatus(
        row["id"], row["model_id"], row["champion"], row["challenger"], row["status"],
        row["started_at"], row["started_by"], row["batches"], row["days"], done, days, due,
        _progress(row["batches"], row["days"], done, days), row["gate_id"],
        "" if gate is None else gate["verdict"], [] if gate is None else gate["reasons"],
        observations, side_by_side(observations, gate), row["closed_at"], row["closed_by"],
        row["reason"], bool(row["forced"]), taken, str(trial_folder(registry, row["id"])))
