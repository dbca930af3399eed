"""Performance requirements (`requirements.json`, ratchet-requirements/1).

Per metric: a minimum (or, for error metrics, a maximum), optionally the expected mean and an
acceptable range, where it applies (overall, or in each partition of a back-test, or in each
segment), plus the baseline the numbers came from and the history of every ratchet step.

    {"format": "ratchet-requirements/1",
     "metrics": [{"metric": "roc_auc", "min": 0.9, "applies": "overall"},
                 {"metric": "roc_auc", "min": 0.8, "applies": "segment",
                  "segment": "carrier"}],
     "baseline": {...}, "history": [...]}

`applies`: "overall" (default; the reference sample, a whole back-test, a now-tested file),
"partition" (each month / quarter / year of a back-test, and each now-tested file), or
"segment": every value of the category input named by `segment` (the 20 values with the most
rows, the rest pooled as "other") is held to the bound, in back-tests (a segment missing it
fails the run) and now-tests (an alarm naming the segment). `segment` is required with
"segment" and refused otherwise; the column must be a category input of the model (checked
when the requirements are used with it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.errors import EngineError
from engine.ground.strict_json import NotCanonical, parse_strict
from engine.metrics import GREATER_IS_BETTER, METRICS

REQUIREMENTS_FORMAT = "ratchet-requirements/1"
APPLIES = ("overall", "partition", "segment")


@dataclass(frozen=True, slots=True)
class Requirement:
    metric: str
    bound: float  # the minimum, or for lower-is-better metrics the maximum
    applies: str = "overall"
    mean: float | None = None
    range: tuple[float, float] | None = None
    segment: str | None = None  # the category input whose every value is held (applies segment)

    @property
    def higher_is_better(self) -> bool:
        return GREATER_IS_BETTER[self.metric]

    @property
    def bound_name(self) -> str:
        return "min" if self.higher_is_better else "max"

    def met_by(self, value: float) -> bool:
        if not math.isfinite(value):
            return False  # e.g. roc_auc on a sample holding one class: not a pass
        return value >= self.bound if self.higher_is_better else value <= self.bound


def _invalid(why: str) -> EngineError:
    return EngineError(f"requirements.json: {why}", "E_REQUIREMENTS_INVALID")


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _invalid(f"{where} must be a number, not {value!r}.")
    return float(value)


def _requirement(i: int, m) -> Requirement:
    if not isinstance(m, dict) or m.get("metric") not in METRICS:
        raise _invalid(f"metrics[{i}].metric must be one of {', '.join(METRICS)}.")
    metric = m["metric"]
    wanted, other = ("min", "max") if GREATER_IS_BETTER[metric] else ("max", "min")
    if m.get(other) is not None:
        raise _invalid(f"metrics[{i}] ({metric}): {metric} is "
                       f"{'higher' if wanted == 'min' else 'lower'}-is-better, so it takes a "
                       f"{wanted!r}, not a {other!r}.")
    if m.get(wanted) is None:
        raise _invalid(f"metrics[{i}] ({metric}) needs a {wanted!r}.")
    bound = _number(m[wanted], f"metrics[{i}].{wanted}")
    applies = m.get("applies", "overall")
    if applies not in APPLIES:
        raise _invalid(f"metrics[{i}].applies must be one of {', '.join(APPLIES)}.")
    segment = m.get("segment")
    if applies == "segment" and (not isinstance(segment, str) or not segment.strip()):
        raise _invalid(f"metrics[{i}].segment must name the category input column whose every "
                       f"value is held to the bound (applies is \"segment\"), e.g. "
                       f"\"segment\": \"carrier\"; it is {segment!r}.")
    if applies != "segment" and segment is not None:
        raise _invalid(f"metrics[{i}].segment ({segment!r}) is only for \"applies\": "
                       f"\"segment\"; this requirement applies {applies!r}. Remove it, or set "
                       "applies to \"segment\".")
    mean = None if m.get("mean") is None else _number(m["mean"], f"metrics[{i}].mean")
    rng = None
    if m.get("range") is not None:
        r = m["range"]
        if not (isinstance(r, list) and len(r) == 2):
            raise _invalid(f"metrics[{i}].range must be [low, high].")
        rng = (_number(r[0], f"metrics[{i}].range[0]"), _number(r[1], f"metrics[{i}].range[1]"))
        if rng[0] > rng[1]:
            raise _invalid(f"metrics[{i}].range has its low end above its high end.")
    return Requirement(metric, bound, applies, mean, rng, segment)


def parse_requirements(data: bytes) -> list[Requirement]:
    try:
        doc = parse_strict(data)
    except NotCanonical as exc:
        raise _invalid(f"{exc}.") from None
    if not isinstance(doc, dict) or doc.get("format") != REQUIREMENTS_FORMAT:
        raise _invalid(f"format must be {REQUIREMENTS_FORMAT!r}.")
    metrics = doc.get("metrics")
    if not isinstance(metrics, list):
        raise _invalid("metrics must be a list.")
    for key in ("baseline", "history"):
        if key in doc and not isinstance(doc[key], dict if key == "baseline" else list):
            raise _invalid(f"{key} must be {'an object' if key == 'baseline' else 'a list'}.")
    reqs = [_requirement(i, m) for i, m in enumerate(metrics)]
    seen = set()
    for r in reqs:
        scope = r.applies if r.segment is None else f"{r.applies} {r.segment}"
        if (r.metric, scope) in seen:
            raise _invalid(f"{r.metric} ({scope}) is required twice; keep one bound.")
        seen.add((r.metric, scope))
    return reqs


def check_for_task(reqs: list[Requirement], task: str) -> None:
    """A regression model takes value metrics; a classifier label or probability metrics."""
    for r in reqs:
        kind = METRICS[r.metric]
        if (task == "regression") != (kind == "values"):
            raise _invalid(f"{r.metric} does not apply to a {task} model.")


def check_requirements(data: bytes, task: str | None = None) -> list[Requirement]:
    """Validate a bundle's requirements.json (used before a bundle is built or installed)."""
    reqs = parse_requirements(data)
    if task is not None:
        check_for_task(reqs, task)
    return reqs
