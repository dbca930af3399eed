"""Checking and scoring a CSV file with a model's active version: the one the operator chose,
or, when none is chosen, the one active model whose inputs the file's header covers
(engine.registry.choice: several fit -> E_MODEL_AMBIGUOUS, none -> E_NO_MODEL_FITS)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.batch.inspect import Inspection, inspect_csv
from engine.batch.result import BatchResult
from engine.ground.paths import Workspace
from engine.ground.shipped import shipped_dir
from engine.progress import CancelToken, Progress
from engine.registry.choice import model_for_file
from engine.registry.registry import Registry
from engine.services import predict

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
    by_columns: bool = False  # chosen by the file's columns among several active models

    @property
    def model_id(self) -> str:
        return self.model_label.partition("@")[0]


def check_file(workspace: Path, path: Path, model_ref: str | None = None, *,
               progress: Progress, cancel: CancelToken) -> Checked:
    """The validation summary shown before running: reads the whole file once (row count).
    ``model_ref``: a model id (its active version) or None (the file's columns choose)."""
    registry = Registry(Workspace.open(workspace))
    try:
        chosen = model_for_file(registry, path, model_ref)
        model, label = registry.load_model(chosen)
    finally:
        registry.close()
    progress(0.0, f"Checking {Path(path).name} against {label}")
    return Checked(inspect_csv(Path(path), model, cancel), label,
                   by_columns=model_ref is None and chosen is not None)


def score_file(workspace: Path, source: Path, output: Path, model_ref: str | None = None, *,
               progress: Progress, cancel: CancelToken) -> BatchResult:
    """Score with the model's version active now, write the output atomically, record the
    batch (engine.services.predict.score). A running trial's shadow is not run here (the
    operator would wait for it and could not cancel it): the page starts ``shadow_file`` as a
    job of its own once this returns."""
    registry = Registry(Workspace.open(workspace))
    try:
        return predict.score(registry, source, output, model_ref, progress=progress,
                             cancel=cancel)
    finally:
        registry.close()


def shadow_file(workspace: Path, result: BatchResult, *, progress: Progress,
                cancel: CancelToken) -> int | None:
    """The running trial's challenger scores the batch just written and recorded, in shadow
    (engine.services.predict.shadow). Returns the observation's id; None when no trial runs
    for the model that scored it. Cancelled (on quit), the observation is simply skipped."""
    registry = Registry(Workspace.open(workspace))
    try:
        return predict.shadow(registry, result, progress=progress, cancel=cancel)
    finally:
        registry.close()


def explain_row(workspace: Path, model_label: str, cells: dict[str, str], *,
                progress: Progress, cancel: CancelToken):
    """Why one row got its prediction (engine.services.explain.RowWhy), with the version that
    scored it."""
    from engine.services.explain import explain_row as explain

    registry = Registry.open(workspace)
    try:
        loaded = registry.load_model(model_label)
    finally:
        registry.close()
    return explain(loaded[0], loaded[1], cells)
