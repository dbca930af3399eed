"""What a back-test found: per partition and model the rows, metrics and verdict; champion
against each challenger with bootstrap intervals; and the verdicts in words. Serializes to JSON
(non-finite numbers as null) and back, so a stored run can be shown or reported again."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

from engine.formats.segments import SegmentTable, tables_from_json


@dataclass(frozen=True, slots=True)
class PartitionResult:
    partition: str
    model: str
    rows: int  # labelled, timed rows the model scored (its metrics are over these)
    metrics: dict[str, float | None]
    passed: bool
    failures: list[str] = field(default_factory=list)
    rejected: int = 0  # labelled, timed rows of the partition the model could not score


@dataclass(frozen=True, slots=True)
class Comparison:
    partition: str  # a partition key, or "overall": the row-weighted mean over partitions
    champion: str
    challenger: str
    metric: str
    difference: float | None  # challenger - champion, on the rows both scored
    ci_low: float | None  # 95% bootstrap interval of the difference
    ci_high: float | None
    champion_value: float | None = None
    challenger_value: float | None = None
    rows: int = 0
    outcome: str = ""  # "better" | "worse" | "no clear difference" (for the challenger)


@dataclass(frozen=True, slots=True)
class RequirementLine:
    model: str
    metric: str
    bound_name: str  # "min" | "max"
    bound: float
    applies: str


@dataclass(frozen=True, slots=True)
class BacktestResult:
    partitions: list[PartitionResult]
    comparisons: list[Comparison]
    verdict: dict[str, str]  # challenger label -> "better" | "worse" | "no clear difference"
    rows: int  # every row read = unlabelled + untimed + the rows the metrics are over
    unlabelled: int  # rows without an outcome: counted, not used
    untimed: int  # rows with an outcome but no readable time: counted, not used
    champion: str = ""
    challengers: list[str] = field(default_factory=list)
    passed: bool = True  # the champion met its requirements in every partition
    corpus: str = ""
    time_column: str = ""
    by: str = "month"
    metric: str = ""  # the metric champion and challengers are compared on
    draws: int = 0  # bootstrap resamples per partition
    requirements: list[RequirementLine] = field(default_factory=list)
    overall: list[PartitionResult] = field(default_factory=list)  # pooled over partitions
    summary: list[str] = field(default_factory=list)  # the verdicts in words
    timezone: str | None = None  # the IANA zone offset times were converted to; None: as written
    segments: list[SegmentTable] = field(default_factory=list)  # the champion's, per --segment
    # per partition: {"partition", and engine.nowtest.multivariate.MultivariateDrift's fields}
    multivariate: list[dict] = field(default_factory=list)

    @property
    def partition_keys(self) -> list[str]:
        return list(dict.fromkeys(p.partition for p in self.partitions))

    def to_json(self) -> dict:
        def clean(value):
            if isinstance(value, float) and not math.isfinite(value):
                return None
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, list):
                return [clean(v) for v in value]
            return value

        return clean(asdict(self))

    @classmethod
    def from_json(cls, doc: dict) -> BacktestResult:
        def nan(value):
            return math.nan if value is None else value

        def part(d: dict) -> PartitionResult:
            return PartitionResult(**{**d, "metrics": {k: nan(v) for k, v in
                                                       d["metrics"].items()}})

        known = {f.name for f in fields(cls)}
        doc = {k: v for k, v in doc.items() if k in known}
        return cls(**{
            **doc,
            "partitions": [part(p) for p in doc["partitions"]],
            "overall": [part(p) for p in doc.get("overall", [])],
            "comparisons": [Comparison(**{k: (nan(v) if k in ("difference", "ci_low", "ci_high",
                                                               "champion_value",
                                                               "challenger_value") else v)
                                          for k, v in c.items()})
                            for c in doc["comparisons"]],
            "requirements": [RequirementLine(**r) for r in doc.get("requirements", [])],
            "segments": tables_from_json(doc.get("segments"))})
