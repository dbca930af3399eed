"""Checking and scoring a CSV file with the active model."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.batch.commit import reconcile_batches
from engine.batch.inspect import Inspection, inspect_csv
from engine.batch.result import BatchResult
from engine.batch.score import score_csv
from engine.ground.paths import Workspace
from engine.ground.shipped import shipped_dir
from engine.progress import CancelToken, Progress
from engine.registry.registry import Registry
from engine.trial.shadow import has_running_trial, shadow_batch

OUTPUT_SUFFIX = ".predictions.csv"


def sample_csv() -> Path:
    """The demo model's sample: July 2013 flights (the model was trained on January-June)."""
    return shipped_dir("resources") / "samples" / "flights-2013-07-sample.csv"


def default_output(source: Path, workspace: Path) -> Path:
    """NAME.predictions.csv next to the input; in the workspace's reports/ folder for the
    shipped sample (its folder belongs to the installation) or an input in a read-only folder."""
    source = Path(source)
    name = source.stem + OUTPUT_SUFFIX
    shipped = source.parent.resolve() == sample_csv().parent.resolve()
    if shipped or not os.access(source.parent, os.W_OK):
        return Workspace(Path(workspace)).reports_dir / name
    return source.parent / name


@dataclass(frozen=True, slots=True)
class Checked:
    inspection: Inspection
    model_label: str


def check_file(workspace: Path, path: Path, model_ref: str | None = None, *,
               progress: Progress, cancel: CancelToken) -> Checked:
    """The validation summary shown before running: reads the whole file once (row count).
    ``model_ref``: a model id (its active version) or None (the latest activated model)."""
    registry = Registry(Workspace.open(workspace))
    try:
        model, label = registry.load_model(model_ref)
    finally:
        registry.close()
    progress(0.0, f"Checking {Path(path).name} against {label}")
    return Checked(inspect_csv(Path(path), model, cancel), label)


def score_file(workspace: Path, source: Path, output: Path, model_ref: str | None = None, *,
               progress: Progress, cancel: CancelToken) -> BatchResult:
    """Score with the model's version active now, write the output atomically, record the
    batch. A running trial's shadow is not run here (the operator would wait for it and could
    not cancel it): the page starts ``shadow_file`` as a job of its own once this returns."""
    registry = Registry(Workspace.open(workspace))
    try:
        model, label = registry.load_model(model_ref)
        reconcile_batches(registry.db)
        result = score_csv(Path(source), Path(output), model, label,
                           registry.bundle_sha256(label), progress=progress, cancel=cancel,
                           db=registry.db)
    finally:
        registry.close()
    return result


def shadow_file(workspace: Path, result: BatchResult, *, progress: Progress,
                cancel: CancelToken) -> int | None:
    """The running trial's challenger scores the batch just written and recorded, in shadow
    (engine.trial.shadow.shadow_batch: its output goes to the trial's folder only, atomically,
    and it never raises). Returns the observation's id; None when no trial runs for the model
    that scored it. Cancelled (on quit) before it starts, the observation is simply skipped."""
    registry = Registry(Workspace.open(workspace))
    try:
        if not has_running_trial(registry, result.model):
            return None
        cancel.check()
        progress(0.0, "Trial: scoring the same file with the challenger, in shadow")
        # finds the batch it repeats by its record; a cancel (quit) stops it, recording nothing
        return shadow_batch(registry, result, cancel=cancel)
    finally:
        registry.close()
