"""Predict: score a CSV file with a model, write the output atomically, record the batch, and
let a running trial's challenger score the same file in shadow.

`ratchet predict` does both steps in one go (`predict`). The app runs them as two jobs
(`score`, then `shadow`): the operator gets the output without waiting for the challenger, and
quitting only skips the shadow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.batch.commit import reconcile_batches
from engine.batch.explain_cells import ExplainRequest
from engine.batch.result import BatchResult
from engine.batch.score import score_csv
from engine.progress import CancelToken, Progress, no_progress
from engine.registry.choice import model_for_file
from engine.trial.shadow import has_running_trial, shadow_batch


@dataclass(frozen=True, slots=True)
class Predicted:
    result: BatchResult
    shadow_id: int | None  # the trial's shadow observation; None when no trial runs


def score(registry, source: Path, output: Path, model_ref: str | None = None, *,
          progress: Progress = no_progress, cancel: CancelToken | None = None,
          explain: ExplainRequest | None = None) -> BatchResult:
    """Score with the model's version active now (``model_ref``: an id or ID@V; None: the
    one model whose inputs the file covers), write the output and record the batch. Batches
    of killed runs are settled first (completed, or marked failed). ``explain``: explanation
    columns to append (engine.batch.explain_cells)."""
    reconcile_batches(registry.db)
    model, label = registry.load_model(model_for_file(registry, source, model_ref))
    return score_csv(Path(source), Path(output), model, label, registry.bundle_sha256(label),
                     progress=progress, cancel=cancel, db=registry.db, explain=explain)


def shadow(registry, result: BatchResult, *, progress: Progress = no_progress,
           cancel: CancelToken | None = None) -> int | None:
    """The running trial's challenger scores the batch just written and recorded, in shadow
    (engine.trial.shadow.shadow_batch: its output goes to the trial's folder only, and it
    never raises). Returns the observation's id; None when no trial runs for the model that
    scored it. A cancel (the app quitting) skips the observation, recording nothing."""
    if not has_running_trial(registry, result.model):
        return None
    if cancel is not None:
        cancel.check()
    progress(0.0, "Trial: scoring the same file with the challenger, in shadow")
    return shadow_batch(registry, result, result.batch_id, cancel=cancel)


def predict(registry, source: Path, output: Path, model_ref: str | None = None, *,
            progress: Progress = no_progress, cancel: CancelToken | None = None,
            explain: ExplainRequest | None = None) -> Predicted:
    """Score and record the batch, then its shadow."""
    result = score(registry, source, output, model_ref, progress=progress, cancel=cancel,
                   explain=explain)
    return Predicted(result, shadow(registry, result, progress=progress, cancel=cancel))
