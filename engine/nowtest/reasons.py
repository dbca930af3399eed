"""Why a now-test raises an alarm, in one sentence each: the model, what was measured, its value
and the bound it crossed, and the file it was measured on."""

from __future__ import annotations

from engine.formats.requirements import Requirement
from engine.model import Feature
from engine.nowtest.multivariate import MultivariateDrift
from engine.nowtest.result import AlarmReason, FeatureDrift

# An alarm when more than this share of a column's values lies outside what the model was
# trained on. The schema's [min, max] is the training sample's own range, so a new value from
# the same distribution lands outside it with probability about 2 / (N + 1) for N training rows
# (under 2% from 100 rows on; far less for real training sets): 5% is not chance, it is data
# the model has not seen, where its outputs are extrapolations.
OUT_OF_RANGE_MAX = 0.05

TEST_NAMES = {"ks": "Kolmogorov-Smirnov", "wasserstein": "normalized Wasserstein distance",
              "psi": "PSI", "chi2": "chi-square", "jensenshannon": "Jensen-Shannon distance"}


def number(value: float) -> str:
    """Metric values as people read them: 0.884, 12.5, 1.2e-05."""
    if value != value:
        return "undefined"
    return f"{value:.3f}" if 0.001 <= abs(value) < 1000 else f"{value:.3g}"


def metric_reason(label: str, req: Requirement, value: float, rows: int, file: str
                  ) -> AlarmReason:
    side = "below the minimum" if req.higher_is_better else "above the maximum"
    return AlarmReason("metric", req.metric, value, req.bound,
                       f"{label}: {req.metric} {number(value)} is {side} {req.bound:g} on "
                       f"{rows:,} labelled rows of {file}.")


def estimate_reason(label: str, req: Requirement, value: float, rows: int, file: str
                    ) -> AlarmReason:
    side = "below the minimum" if req.higher_is_better else "above the maximum"
    return AlarmReason("estimate", req.metric, value, req.bound,
                       f"{label}: the estimated {req.metric} {number(value)} (from the "
                       f"model's own probabilities; the file has no labels) is {side} "
                       f"{req.bound:g} on {rows:,} rows of {file}.")


def drift_evidence(d: FeatureDrift) -> str:
    """What crossed the line: the test, or the share of missing values, or both."""
    parts = []
    name = TEST_NAMES.get(d.test, d.test)
    if d.p_value is not None and d.p_value < d.threshold:
        parts.append(f"{name} test p = {d.p_value:.2g}, below {d.threshold:.2g}")
    elif d.p_value is None and d.statistic > d.threshold:
        unit = " reference standard deviations" if d.test == "wasserstein" else ""
        parts.append(f"{name} {d.statistic:.3g}{unit}, above the threshold {d.threshold:.3g}")
    if d.missing_drifted:
        parts.append(f"missing values in {d.missing_current:.1%} of the rows, "
                     f"{d.missing_reference:.1%} in the reference")
    return "; ".join(parts)


def _drift_value(d: FeatureDrift) -> tuple[float, float]:
    if d.missing_drifted and not drift_evidence_of_values(d):
        return d.missing_current, d.missing_reference
    return (d.p_value if d.p_value is not None else d.statistic), d.threshold


def drift_evidence_of_values(d: FeatureDrift) -> bool:
    if d.p_value is not None:
        return d.p_value < d.threshold
    return d.statistic > d.threshold


def drift_reason(label: str, d: FeatureDrift, file: str) -> AlarmReason:
    value, bound = _drift_value(d)
    return AlarmReason("drift", d.feature, value, bound,
                       f"{label}: the input {d.feature!r} has drifted from the model's "
                       f"reference sample in {file} ({drift_evidence(d)}; "
                       f"{d.current_rows:,} rows against {d.reference_rows:,}).")


def prediction_drift_reason(label: str, d: FeatureDrift, what: str, file: str) -> AlarmReason:
    value, bound = _drift_value(d)
    return AlarmReason("prediction_drift", "prediction", value, bound,
                       f"{label}: its predictions ({what}) have drifted from those on the "
                       f"reference sample in {file} ({drift_evidence(d)}; "
                       f"{d.current_rows:,} rows against {d.reference_rows:,}).")


def out_of_range_reason(label: str, feature: Feature, share: float, file: str,
                        example: str | None = None) -> AlarmReason:
    if feature.range is not None:
        lo, hi = feature.range
        what = f"outside the range the model was trained on ({lo:g} to {hi:g})"
    else:
        what = "categories the model never saw" + (f" (e.g. {example!r})" if example else "")
    return AlarmReason("out_of_range", feature.name, share, OUT_OF_RANGE_MAX,
                       f"{label}: {share:.1%} of the {feature.name!r} values in {file} are "
                       f"{what}; the limit is {OUT_OF_RANGE_MAX:.0%}.")


MULTIVARIATE = "(all inputs together)"  # the subject of a multivariate drift alarm


def multivariate_reasons(label: str, d: MultivariateDrift, file: str) -> list[AlarmReason]:
    """A drift alarm (kind \"drift\", subject MULTIVARIATE) when the inputs taken together
    have drifted; none otherwise."""
    if not d.drifted:
        return []
    return [AlarmReason(
        "drift", MULTIVARIATE, d.error, d.threshold,
        f"{label}: its inputs taken together have drifted from the model's reference sample "
        f"in {file}: they no longer vary together as they did, even where each column on its "
        f"own looks the same (mean PCA reconstruction error {d.error:.3g}, above the "
        f"threshold {d.threshold:.3g}; {d.reference_error:.3g} on held-out reference rows; "
        f"{d.current_rows:,} rows against {d.reference_rows:,}).")]


def multivariate_note(d: MultivariateDrift) -> str:
    return (f"Multivariate drift: the mean PCA reconstruction error of the rows "
            f"({d.components} components of {d.columns} standardized number and one-hot "
            f"category columns explain {d.variance:.0%} of the reference's variance) against "
            f"its spread on chunks of {d.current_rows:,} rows drawn from {d.reference_rows:,} "
            f"held-out reference rows, at p < {d.alpha:.2g}.")


def quality_reason(result: dict) -> AlarmReason:
    """A failed data-quality rule of severity `alarm` (engine.nowtest.quality's document)."""
    return AlarmReason("quality", result["name"], result["measured"], result["bound"],
                       result["message"])
