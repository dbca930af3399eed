"""What a now-test produces, and why it raises an alarm: shared by the now-test itself, the
alarm store, the folder watcher, the command line and the app's Monitor page."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from engine.formats.segments import SegmentTable, tables_from_json
from engine.nowtest.multivariate import MultivariateDrift

ALARM_KINDS = ("metric", "estimate", "drift", "out_of_range", "prediction_drift", "quality")


@dataclass(frozen=True, slots=True)
class AlarmReason:
    """One reason to raise an alarm. (model, kind, subject) identifies the alarm for
    de-duplication: the same reason again while an alarm is open is a repeat, not a new one."""

    kind: str  # one of ALARM_KINDS
    subject: str  # the metric name (metric, estimate) or the feature (drift, out_of_range)
    value: float | None  # the measured value (metric, statistic, share)
    bound: float | None  # the minimum / maximum / threshold it crossed
    message: str  # one sentence for people: model, what, value and bound


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    feature: str
    test: str  # "ks", "wasserstein", "psi", "chi2", "jensenshannon"
    statistic: float
    p_value: float | None
    threshold: float  # drifted when the statistic crosses it (p_value below it for tests)
    drifted: bool
    reference_rows: int
    current_rows: int
    # Missing values: their share in each sample. Category columns test them as one more
    # category; number columns test the missing / present split on its own (missing_drifted),
    # and `drifted` is then the values test or that split.
    missing_reference: float = 0.0
    missing_current: float = 0.0
    missing_drifted: bool = False

    @classmethod
    def from_json(cls, doc: dict) -> FeatureDrift:
        values = {f: doc[f] for f in cls.__dataclass_fields__ if f in doc}
        if values.get("statistic") is None:
            values["statistic"] = math.nan
        return cls(**values)


@dataclass(frozen=True, slots=True)
class NowtestResult:
    model: str  # "ID@V"
    input: str
    input_sha256: str
    rows: int  # data rows in the file
    labelled: int  # rows with a true outcome (0: metrics is None)
    rejected: int  # rows the model refused
    metrics: dict[str, float | None] | None  # with labels: every metric of the task
    requirements: list[dict]  # [{"metric", "value", "bound", "bound_name", "passed"}]
    drift: list[FeatureDrift]  # per input feature, against the model's reference profile
    prediction_drift: FeatureDrift | None
    out_of_range: dict[str, float]  # feature -> share of rows outside the schema's range
    estimate: dict[str, float] | None  # label-free estimate (classifiers): metric -> value
    reasons: list[AlarmReason] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. "the bundle has no reference rows"
    # The label-free estimate checked on the labelled reference rows (None without them):
    # metric -> {"estimated": from the raw probabilities, "actual", and "calibrated" when the
    # probabilities were recalibrated (`calibrated`) by an isotonic map fitted on those rows}.
    estimate_reference: dict[str, dict[str, float]] | None = None
    calibrated: bool = False
    reference_metrics: dict[str, float] | None = None  # every metric on the reference rows
    segments: list[SegmentTable] = field(default_factory=list)  # engine.services.segments
    multivariate: MultivariateDrift | None = None  # engine.nowtest.multivariate (inputs together)
    quality: list[dict] = field(default_factory=list)  # engine.nowtest.quality: rule results

    @property
    def alarm(self) -> bool:
        return bool(self.reasons)

    def to_json(self) -> dict:
        """The `ratchet nowtest --json` document (DESIGN.md keys first)."""

        def clean(v):
            if isinstance(v, float) and not math.isfinite(v):
                return None
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, list):
                return [clean(x) for x in v]
            return v

        return clean({
            "model": self.model, "rows": self.rows, "metrics": self.metrics,
            "drift": [asdict(d) for d in self.drift], "alarm": self.alarm,
            "input": self.input, "input_sha256": self.input_sha256,
            "labelled": self.labelled, "rejected": self.rejected,
            "requirements": self.requirements,
            "prediction_drift": (asdict(self.prediction_drift)
                                 if self.prediction_drift else None),
            "out_of_range": self.out_of_range, "estimate": self.estimate,
            "reasons": [asdict(r) for r in self.reasons], "notes": self.notes,
            "multivariate": asdict(self.multivariate) if self.multivariate else None,
            "estimate_reference": self.estimate_reference, "calibrated": self.calibrated,
            "reference_metrics": self.reference_metrics,
            "segments": [t.to_json() for t in self.segments], "quality": self.quality,
        })

    @classmethod
    def from_json(cls, doc: dict) -> NowtestResult:
        """A result back from its `to_json` document (as stored in history); numbers that
        were not finite come back as None (NaN for a drift statistic)."""
        prediction = doc.get("prediction_drift")
        return cls(
            model=doc["model"], input=doc.get("input", ""),
            input_sha256=doc.get("input_sha256", ""), rows=doc.get("rows", 0),
            labelled=doc.get("labelled", 0), rejected=doc.get("rejected", 0),
            metrics=doc.get("metrics"), requirements=list(doc.get("requirements", [])),
            drift=[FeatureDrift.from_json(d) for d in doc.get("drift", [])],
            prediction_drift=FeatureDrift.from_json(prediction) if prediction else None,
            out_of_range=dict(doc.get("out_of_range", {})), estimate=doc.get("estimate"),
            reasons=[AlarmReason(**{k: r.get(k) for k in AlarmReason.__dataclass_fields__})
                     for r in doc.get("reasons", [])],
            notes=list(doc.get("notes", [])),
            estimate_reference=doc.get("estimate_reference"),
            multivariate=MultivariateDrift.from_json(doc.get("multivariate")),
            calibrated=bool(doc.get("calibrated", False)),
            reference_metrics=doc.get("reference_metrics"),
            segments=tables_from_json(doc.get("segments")),
            quality=list(doc.get("quality", [])))
