"""The now-test of one CSV file: the model's latest data against its requirements (when the file
has labels), against its reference profile (drift, out-of-range shares) and against its own
probabilities (a label-free estimate), with the reasons to raise an alarm."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from engine.batch.scan import ChunkObserver
from engine.formats.requirements import Requirement
from engine.model import Model
from engine.model.categories import NUMBER
from engine.nowtest import multivariate_scan as mv
from engine.nowtest import reasons as why
from engine.nowtest.current import CurrentSample, label_mask, read_current
from engine.nowtest.drift import (
    MISSING,
    SMALL_SAMPLE,
    categorical_feature_drift,
    category_counts,
    numeric_feature_drift,
)
from engine.nowtest.estimate import estimate_metrics
from engine.nowtest.profile import (
    ReferenceProfile,
    build_profile,
    metrics_of,
    prediction_signal,
)
from engine.nowtest.quality import check_quality, quality_reasons
from engine.nowtest.result import AlarmReason, FeatureDrift, NowtestResult
from engine.progress import CancelToken, Progress, no_progress

# The chance of a drift alarm on a file that has not drifted, over all its p-value tests
# together (Bonferroni; the multivariate test of engine.nowtest.multivariate is one of them):
# one file in a hundred, not one column in twenty.
FAMILY_ALPHA = 0.01


def _check(cancel: CancelToken | None) -> None:
    if cancel is not None:
        cancel.check()


def _scaled(progress: Progress, start: float, end: float) -> Progress:
    return lambda f, message: progress(start + (end - start) * f, message)


def applicable(requirements: list[Requirement]) -> list[Requirement]:
    """A now-tested file is one batch of the latest data, like a back-test partition: the
    per-partition requirements when there are any, else the overall ones."""
    plain = [r for r in requirements if r.applies != "segment"]  # per segment: services
    return [r for r in plain if r.applies == "partition"] or plain


def prediction_label(model: Model) -> str:
    if model.task == "binary":
        return f"probability of {model.target or 'class'} = {model.classes[1]}"
    return "predicted class" if model.task == "multiclass" else "predicted value"


def _drift(model: Model, profile: ReferenceProfile, sample: CurrentSample
           ) -> tuple[list[FeatureDrift], FeatureDrift | None, float]:
    numeric = sum(f.type == NUMBER for f in model.features)
    alpha = FAMILY_ALPHA / (len(model.features) + numeric + 2)  # + predictions, multivariate
    out = []
    for f in model.features:
        if f.type == NUMBER:
            ref = profile.numbers[f.name]
            out.append(numeric_feature_drift(f.name, ref.values,
                                             sample.numbers[f.name][sample.parsed], alpha,
                                             ref.spread))
        else:
            out.append(categorical_feature_drift(f.name, profile.categories[f.name],
                                                 sample.categories[f.name], alpha))
    scored = np.flatnonzero(~sample.rejected)
    if not scored.size:
        return out, None, alpha
    current = prediction_signal(
        model, sample.prediction[scored], None if sample.proba is None else sample.proba[scored],
        None if sample.class_index is None else sample.class_index[scored])
    if model.task == "multiclass":
        known = {str(c) for c in model.classes}
        pred = categorical_feature_drift("prediction", category_counts(profile.prediction,
                                                                       known),
                                         category_counts(current, known), alpha)
    else:
        pred = numeric_feature_drift("prediction", profile.prediction, current, alpha)
    return out, pred, alpha


def _out_of_range(model: Model, sample: CurrentSample) -> dict[str, float]:
    """Per feature with a schema range or categories: the share of the rows with a value that
    lie outside it (rows that could not be parsed left out)."""
    out = {}
    for f in model.features:
        if f.type == NUMBER and f.range is not None:
            values = sample.numbers[f.name][sample.parsed]
            present = values[~np.isnan(values)]
            outside = int(((present < f.range[0]) | (present > f.range[1])).sum())
            out[f.name] = outside / present.size if present.size else 0.0
        elif f.type != NUMBER and f.categories is not None:
            counts = sample.categories[f.name]
            present = sum(counts.values()) - counts.get(MISSING, 0)
            unknown = sample.unknown.get(f.name, (0, ""))[0]
            out[f.name] = unknown / present if present else 0.0
    return out


def _labelled_metrics(model: Model, sample: CurrentSample, reqs: list[Requirement]
                      ) -> tuple[dict | None, list[dict], int]:
    rows = np.flatnonzero(label_mask(sample))
    if not rows.size:
        return None, [], 0
    if model.task == "regression":
        y = sample.labels[rows]
    else:
        y = np.asarray(model.classes, dtype=object)[sample.labels[rows]]
    proba = None if sample.proba is None else sample.proba[rows]
    metrics = metrics_of(model, y, sample.prediction[rows], proba)
    checked = []
    for r in reqs:
        value = metrics.get(r.metric, math.nan)
        checked.append({"metric": r.metric, "value": value, "bound": r.bound,
                        "bound_name": r.bound_name, "passed": r.met_by(value),
                        "rows": int(rows.size)})
    return metrics, checked, int(rows.size)


def _notes(model: Model, profile: ReferenceProfile, sample: CurrentSample, labelled: int,
           alpha: float, checked: list[dict]) -> list[str]:
    name = sample.path.name
    notes = []
    if not profile.available:
        notes.append("The bundle has no labelled reference rows to compare with, so drift "
                     "cannot be measured; the out-of-range shares come from the model's input "
                     "schema.")
    elif profile.rejected:
        notes.append(f"{profile.rejected:,} of the bundle's reference rows are refused by the "
                     "model and left out of the reference profile.")
    if not sample.has_label_column:
        target = f"label column {model.target!r}" if model.target else "label column"
        notes.append(f"{name} has no {target}: no metrics"
                     + ("; the label-free estimate stands in." if model.task != "regression"
                        else "."))
    elif labelled < sample.rows - int(sample.rejected.sum()):
        unlabelled = sample.rows - int(sample.rejected.sum()) - labelled
        notes.append(f"{unlabelled:,} scored rows of {name} have no label; the metrics use the "
                     f"{labelled:,} rows that have one.")
    for c in checked:
        if not _finite(c["value"]):
            notes.append(f"{c['metric']} cannot be measured on the {labelled:,} labelled rows of "
                         f"{name} (one class only, or too few rows): no alarm from it; the "
                         "label-free estimate stands in.")
    rejected = int(sample.rejected.sum())
    if rejected:
        notes.append(f"{rejected:,} rows were refused by the model (first: {sample.first_error})"
                     "; they are left out of the metrics, the prediction drift and the "
                     "estimate.")
    if profile.available:
        parsed = int(sample.parsed.sum())
        how = (f"Kolmogorov-Smirnov and chi-square tests at p < {alpha:.2g} each (a "
               f"{FAMILY_ALPHA:.0%} chance of a false alarm over all tests of the file)"
               if parsed <= SMALL_SAMPLE else
               "normalized Wasserstein and Jensen-Shannon distances (threshold 0.1, or the "
               "reference sample's noise floor where that is higher)")
        notes.append(f"Drift of {parsed:,} rows against {profile.rows:,} reference rows: "
                     f"{how}.")
    if model.task != "regression":
        cal = profile.calibration
        if cal is None:
            notes.append("The estimate trusts the model's probabilities unchecked: the bundle "
                         "has no labelled reference rows to check their calibration on.")
        elif cal.recalibrated:
            notes.append(f"The model's probabilities are not calibrated on the {profile.rows:,} "
                         f"reference rows ({cal.detail}); the estimate uses them after an "
                         "isotonic map fitted on those rows.")
        else:
            notes.append(f"The model's probabilities are calibrated on the {profile.rows:,} "
                         f"reference rows ({cal.detail}); the estimate uses them as they are.")
    return notes


def _finite(value) -> bool:
    return value is not None and math.isfinite(value)


def _reasons(label: str, model: Model, sample: CurrentSample, reqs: list[Requirement],
             checked: list[dict], labelled: int, estimate: dict | None,
             drift: list[FeatureDrift], pred: FeatureDrift | None,
             out_of_range: dict[str, float]) -> list[AlarmReason]:
    """Every missed requirement (`checked` is empty without labels); the estimate's primary
    metric (the first requirement it estimates) only when nothing is labelled, since a measured
    value outranks an estimate; each drifted feature; the predictions; each share over the
    out-of-range limit."""
    name = sample.path.name
    # A metric that cannot be measured here (roc_auc when the labelled rows hold one class
    # only) is no evidence that the model falters: no alarm; the estimate stands in for it.
    unmeasured = {c["metric"] for c in checked if not _finite(c["value"])}
    out = [why.metric_reason(label, r, c["value"], labelled, name)
           for r, c in zip(reqs, checked, strict=False)
           if not c["passed"] and _finite(c["value"])]
    if estimate:
        primary = next((r for r in reqs if r.metric in estimate
                        and (not labelled or r.metric in unmeasured)), None)
        if primary is not None and not primary.met_by(estimate[primary.metric]):
            scored = sample.rows - int(sample.rejected.sum())
            out.append(why.estimate_reason(label, primary, estimate[primary.metric], scored,
                                           name))
    out += [why.drift_reason(label, d, name) for d in drift if d.drifted]
    if pred is not None and pred.drifted:
        out.append(why.prediction_drift_reason(label, pred, prediction_label(model), name))
    for f in model.features:
        share = out_of_range.get(f.name, 0.0)
        if share > why.OUT_OF_RANGE_MAX:
            example = sample.unknown.get(f.name, (0, None))[1]
            out.append(why.out_of_range_reason(label, f, share, name, example))
    return out


def run_nowtest(path: Path, model: Model, label: str, members: dict[str, bytes],
                requirements: list[Requirement], progress: Progress = no_progress,
                cancel: CancelToken | None = None, alongside: ChunkObserver | None = None
                ) -> NowtestResult:
    """Now-test the CSV file at `path` with `model` ("ID@V" `label`), its bundle `members`
    (the reference rows of regression_cases.csv) and its effective `requirements`. Raises
    InputError for a file that cannot be read (missing, not CSV, no data rows, a model input
    column missing, a label that is not a class); Cancelled between chunks and steps."""
    return _nowtest(Path(path), model, label, members, requirements, progress, cancel,
                    alongside)


def run_nowtest_beside(path: Path, model: Model, label: str, members: dict[str, bytes],
                       requirements: list[Requirement], alongside: ChunkObserver
                       ) -> NowtestResult:
    """`run_nowtest`, its one pass over the file also handing every chunk it scored to
    `alongside` (a trial's champion, compared with this challenger on the same parse)."""
    return _nowtest(Path(path), model, label, members, requirements, alongside=alongside)


def _nowtest(path: Path, model: Model, label: str, members: dict[str, bytes],
             requirements: list[Requirement], progress: Progress = no_progress,
             cancel: CancelToken | None = None, alongside: ChunkObserver | None = None
             ) -> NowtestResult:
    progress(0.0, "Reading the model's reference profile")
    profile = build_profile(model, members.get("regression_cases.csv"))
    _check(cancel)
    fit = mv.reference_fit(model, members.get("regression_cases.csv")) \
        if profile.available else None
    codes = mv.CategoryCodes(model, fit) if fit is not None else None  # on the same pass
    alongside = mv.beside(alongside, codes)
    rules = check_quality(model, members, alongside)  # None: the bundle has no quality rules
    sample = read_current(path, model, profile.known,
                          _scaled(progress, 0.05, 0.8), cancel, alongside=rules or alongside)
    _check(cancel)
    reqs = applicable(requirements)
    metrics, checked, labelled = _labelled_metrics(model, sample, reqs)
    progress(0.85, "Measuring drift")
    drift, pred, alpha = ([], None, 0.0)
    if profile.available:
        drift, pred, alpha = _drift(model, profile, sample)
    multivariate = (mv.measure(fit, codes, sample.numbers, sample.parsed, alpha)
                    if codes is not None else None)
    out_of_range = _out_of_range(model, sample)
    _check(cancel)
    estimate = None
    scored = np.flatnonzero(~sample.rejected)
    if model.task != "regression" and scored.size:
        progress(0.95, "Estimating performance from the model's probabilities")
        proba = sample.proba[scored]
        q = proba if profile.calibration is None else profile.calibration.apply(proba)
        estimate = estimate_metrics(proba, q, sample.class_index[scored])
    quality = rules.results(sample.rows, path.name, label) if rules else []
    result = NowtestResult(
        model=label, input=str(path), input_sha256=sample.sha256, rows=sample.rows,
        labelled=labelled, rejected=int(sample.rejected.sum()), metrics=metrics,
        requirements=checked, drift=drift, prediction_drift=pred, out_of_range=out_of_range,
        estimate=estimate,
        reasons=_reasons(label, model, sample, reqs, checked, labelled, estimate, drift, pred,
                         out_of_range) + quality_reasons(quality),
        notes=_notes(model, profile, sample, labelled, alpha, checked),
        estimate_reference=profile.estimate,
        calibrated=bool(profile.calibration is not None and profile.calibration.recalibrated),
        reference_metrics=profile.metrics, quality=quality)
    if multivariate is not None:
        result = replace(result, multivariate=multivariate,
                         reasons=[*result.reasons,
                                  *why.multivariate_reasons(label, multivariate, path.name)],
                         notes=[*result.notes, why.multivariate_note(multivariate)])
    progress(1.0, f"Done: {sample.rows:,} rows, {len(result.reasons)} alarm reasons")
    return result


def model_for_nowtest(registry, model_ref: str | None = None) -> tuple:
    """(model, label, bundle members, effective (ratcheted) requirements) of the model (the
    active one unless `model_ref` names one), as every now-test of the workspace uses them."""
    from engine.registry.refs import parse_ref
    from engine.regression.ratchet import effective_requirements

    model, label = registry.load_model(model_ref)
    members = registry.bundle_members(label)
    reqs = []
    if "requirements.json" in members:
        reqs = effective_requirements(registry.db, parse_ref(label)[0],
                                      members["requirements.json"])
    return model, label, members, reqs


def nowtest_file(registry, path: Path, model_ref: str | None = None,
                 progress: Progress = no_progress, cancel: CancelToken | None = None
                 ) -> NowtestResult:
    """`run_nowtest` with the model, its bundle and its effective requirements from the
    workspace's registry (model_for_nowtest)."""
    model, label, members, reqs = model_for_nowtest(registry, model_ref)
    return run_nowtest(Path(path), model, label, members, reqs, progress, cancel)
