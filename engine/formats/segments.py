"""Segments of a back-test or now-test: every metric per value of one categorical input (the
20 values with the most rows, the rest pooled as "other"), each with its rows, a 95% bootstrap
interval of the requirement metrics, the requirements it misses and (now-test) the inputs that
drifted inside it against the reference rows of the same value. The table is ranked worst
first. Shared by the back-test and the now-test results, their reports and the app, so it lives
below both; its JSON form is what `--json` prints under "segments"."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

OTHER = "other"  # the segment that pools every value after the top ones
MISSING = "(missing)"  # rows whose segment column is empty or a missing-value marker
TOP = 20


@dataclass(frozen=True, slots=True)
class Segment:
    value: str  # the column's value, OTHER or MISSING
    rows: int  # rows of the segment the metrics are over (labelled and scored), or scored
    metrics: dict[str, float | None]  # every metric of the task (empty without labels)
    intervals: dict[str, list[float | None]] = field(default_factory=dict)  # metric -> [lo, hi]
    missed: list[str] = field(default_factory=list)  # requirement bounds missed, in words
    drifted: list[str] = field(default_factory=list)  # inputs that drifted in this segment
    by_partition: dict[str, float | None] = field(default_factory=dict)  # metric per partition
    values: int = 1  # distinct values pooled (more than one for OTHER)
    scored: int = 0  # rows scored (labelled or not)

    @property
    def flagged(self) -> bool:
        return bool(self.missed or self.drifted)


@dataclass(frozen=True, slots=True)
class SegmentTable:
    column: str
    metric: str  # the metric the table is ranked on (and drawn per partition)
    held: bool  # requirements apply to every segment (applies "segment"): a miss is a failure
    segments: list[Segment]  # worst first
    bounds: list[list] = field(default_factory=list)  # [[metric, "min"|"max", bound], ...]
    draws: int = 0  # bootstrap resamples per segment
    notes: list[str] = field(default_factory=list)

    @property
    def missed(self) -> list[Segment]:
        return [s for s in self.segments if s.missed]

    def to_json(self) -> dict:
        return clean(asdict(self))

    @classmethod
    def from_json(cls, doc: dict) -> SegmentTable:
        known = set(Segment.__dataclass_fields__)
        segments = [Segment(**{k: v for k, v in s.items() if k in known})
                    for s in doc.get("segments", [])]
        return cls(doc["column"], doc.get("metric", ""), bool(doc.get("held", False)),
                   segments, list(doc.get("bounds", [])), int(doc.get("draws", 0)),
                   list(doc.get("notes", [])))


def clean(value):
    """Non-finite numbers as None (strict JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def tables_from_json(docs: list | None) -> list[SegmentTable]:
    return [SegmentTable.from_json(d) for d in docs or []]


def segment_columns(asked, reqs) -> list[str]:
    """The columns to segment by: those asked for, then those requirements hold to segments
    (`applies: "segment"`)."""
    held = [r.segment for r in reqs if r.applies == "segment" and r.segment]
    return list(dict.fromkeys([*asked, *held]))
