"""The challenger in shadow: while a trial runs, every prediction batch and every now-test of
the champion is repeated with the challenger, and its outputs are recorded under the workspace
(WORKSPACE/trials/<trial>/batch-<batch id>.csv, nowtest-<now-test id>.json) with a comparison
of the two, observation by observation.

The shadow never touches what the operator gets: it writes only into the trial's folder and
the trial_shadow table, raises no alarm, and never raises. A failure is logged and recorded on
the trial as the observation's error; the operator's batch or now-test stands as it was.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from engine.errors import Cancelled
from engine.ground.fileio import write_atomic
from engine.progress import CancelToken
from engine.registry.refs import parse_ref
from engine.trial.store import insert_shadow, running_trial

log = logging.getLogger(__name__)

# The comparison (numpy, the now-test's sample code) is imported only when a trial runs: every
# prediction asks this module whether one does (issue 16).


def trial_folder(registry, trial_id: int) -> Path:
    return registry.ws.root / "trials" / str(trial_id)


def _trial_of(registry, champion_label: str):
    """The running trial whose champion made this batch or now-test, if any."""
    trial = running_trial(registry.db, parse_ref(champion_label)[0])
    return trial if trial is not None and trial["champion"] == champion_label else None


def has_running_trial(registry, champion_label: str) -> bool:
    """Whether a batch or now-test of this champion will be repeated in shadow."""
    try:
        return _trial_of(registry, champion_label) is not None
    except Exception:  # asking must never fail the operator's work either
        return False


def _error_text(exc: BaseException) -> str:
    return getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"


def _guarded(kind: str, registry, trial, source_id, input_path: str, work) -> int | None:
    try:
        return work()
    except Cancelled:  # the app is quitting: skip this observation, record nothing
        log.info("trial %s: the shadow of %s %s was cancelled", trial["id"], kind, source_id)
        raise
    except Exception as exc:  # the operator's work must stand whatever the shadow does
        error = _error_text(exc)
        log.warning("trial %s: the challenger %s could not shadow %s %s (%s): %s",
                    trial["id"], trial["challenger"], kind, source_id, input_path, error,
                    exc_info=True)
        try:
            return insert_shadow(registry.db, trial["id"], kind, source_id, input_path,
                                 trial["champion"], trial["challenger"], error=error)
        except Exception:
            log.error("trial %s: the shadow error could not be recorded either", trial["id"],
                      exc_info=True)
            return None


def _batch_id(registry, result) -> int | None:
    row = registry.db.execute(
        "SELECT id FROM batches WHERE model = ? AND output = ? AND input_sha256 = ? AND "
        "finished = ? ORDER BY id DESC LIMIT 1",
        (result.model, result.output, result.input_sha256, result.finished)).fetchone()
    return None if row is None else row["id"]


def shadow_batch(registry, result, batch_id: int | None = None,
                 cancel: CancelToken | None = None) -> int | None:
    """Score the batch's input (an engine.batch.score.BatchResult, already written and
    recorded) with the running trial's challenger, if any. Returns the observation's id (None:
    no trial). Never raises, except Cancelled when `cancel` is set (nothing is recorded)."""
    try:
        trial = _trial_of(registry, result.model)
        if trial is None:
            return None
        batch_id = batch_id if batch_id is not None else _batch_id(registry, result)
    except Exception:
        log.warning("could not look for a trial to shadow batch %s", result.output,
                    exc_info=True)
        return None
    return _guarded("batch", registry, trial, batch_id, result.input,
                    lambda: _run_batch(registry, trial, result, batch_id, cancel))


def _run_batch(registry, trial, result, batch_id: int | None,
               cancel: CancelToken | None = None) -> int:
    """One pass over the input: the challenger scores it into the trial's folder, and the
    champion is scored beside it on the same parsed chunks for the comparison."""
    from engine.batch.score import score_csv
    from engine.trial.compare import ChampionBeside

    champion, _ = registry.load_model(trial["champion"])
    challenger, label = registry.load_model(trial["challenger"])
    folder = trial_folder(registry, trial["id"])
    folder.mkdir(parents=True, exist_ok=True)
    name = f"batch-{batch_id}.csv" if batch_id is not None else \
        f"batch-{Path(result.output).stem}.csv"
    beside = ChampionBeside(champion, challenger)
    shadow = score_csv(Path(result.input), folder / name, challenger, label,
                       registry.bundle_sha256(label), cancel=cancel, alongside=beside)
    if shadow.input_sha256 != result.input_sha256:
        raise RuntimeError(f"{result.input} changed after the champion scored it; the "
                           "challenger's outputs are not comparable and are not counted")
    comparison = beside.comparison(Path(result.input))
    return insert_shadow(registry.db, trial["id"], "batch", batch_id, result.input,
                         trial["champion"], trial["challenger"], shadow.rows, shadow.output,
                         comparison, shadow.to_json())


def shadow_nowtest(registry, result, nowtest_id: int | None = None) -> int | None:
    """Now-test the same file (an engine.nowtest.result.NowtestResult, already recorded) with
    the running trial's challenger, if any; its result is recorded on the trial only, never as
    a now-test of the workstation and never as an alarm. Returns the observation's id (None:
    no trial). Never raises."""
    try:
        trial = _trial_of(registry, result.model)
    except Exception:
        log.warning("could not look for a trial to shadow now-test %s", nowtest_id,
                    exc_info=True)
        return None
    if trial is None:
        return None
    return _guarded("nowtest", registry, trial, nowtest_id, result.input,
                    lambda: _run_nowtest(registry, trial, result, nowtest_id))


def _run_nowtest(registry, trial, result, nowtest_id: int | None) -> int:
    from engine.backtest.contenders import installed_contender
    from engine.nowtest.run import run_nowtest_beside
    from engine.trial.candidate import candidate_requirements, load_candidate
    from engine.trial.compare import ChampionBeside

    champion = installed_contender(registry, trial["champion"])
    challenger = load_candidate(registry, trial["challenger"])
    reqs = candidate_requirements(registry, challenger, champion)
    beside = ChampionBeside(champion.model, challenger.model)
    shadow = run_nowtest_beside(Path(result.input), challenger.model, challenger.label,
                                challenger.members, reqs, beside)
    if shadow.input_sha256 != result.input_sha256:
        raise RuntimeError(f"{result.input} changed after the champion's now-test; the "
                           "challenger's now-test is not comparable and is not counted")
    comparison = beside.comparison(Path(result.input))
    comparison["champion_alarms"] = [r.message for r in result.reasons]
    comparison["challenger_alarms"] = [r.message for r in shadow.reasons]
    folder = trial_folder(registry, trial["id"])
    folder.mkdir(parents=True, exist_ok=True)
    doc = shadow.to_json()
    path = folder / f"nowtest-{nowtest_id if nowtest_id is not None else 'file'}.json"
    write_atomic(path, (json.dumps(doc, indent=1, allow_nan=False) + "\n").encode("utf-8"))
    return insert_shadow(registry.db, trial["id"], "nowtest", nowtest_id, result.input,
                         trial["champion"], trial["challenger"], shadow.rows, str(path),
                         comparison, doc)
