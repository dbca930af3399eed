"""A whole search, as `ratchet search` runs it: read, split by time, search, refit the best,
write the candidates and the record (atomically), and say what was found."""

from __future__ import annotations

import json
import logging
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path

from engine.errors import EngineError, InputError
from engine.ground.clock import build_time
from engine.progress import CancelToken, Progress, no_progress
from engine.search import record as rec
from engine.search.candidate import Candidate, make_candidate
from engine.search.cases import check_feature_names
from engine.search.data import load_training
from engine.search.families import FAMILIES, choose_families
from engine.search.folds import holdout_start, time_folds
from engine.search.output import check_output_folder, write_folder
from engine.search.runner import Trial, ranked, run_search
from engine.search.scoring import choose_metric

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SearchOptions:
    train: Path
    target: str
    time_column: str
    output: Path
    features: list[str] | None = None
    task: str = "auto"
    families: list[str] | None = None
    iterations: int | None = 20  # None: the full grid
    folds: int = 3
    holdout: float = 0.1
    metric: str | None = None
    top: int = 3
    model_id: str | None = None
    seed: int = 0
    n_jobs: int = -1
    sample: int | None = None
    reference_rows: int = 3000
    margin: float = 0.02


def _check(o: SearchOptions) -> str:
    """Option values a search cannot use; returns the model id."""
    from engine.bundle.manifest import MODEL_ID

    def bad(option: str, value, need: str) -> InputError:
        return InputError(f"{option} {value} cannot be used: {need}.", "E_USAGE")

    for option, value, low in (("--iterations", o.iterations, 1), ("--folds", o.folds, 1),
                               ("--top", o.top, 1), ("--sample", o.sample, 1),
                               ("--reference-rows", o.reference_rows, 1)):
        if value is not None and value < low:
            raise bad(option, value, f"give a whole number of at least {low}")
    if not 0 < o.holdout <= 0.5:
        raise bad("--holdout", o.holdout, "give a fraction above 0 and at most 0.5")
    if not 0 <= o.margin < 1:
        raise bad("--margin", o.margin, "give a fraction from 0 up to (not including) 1")
    if o.n_jobs == 0:
        raise bad("--n-jobs", 0, "give a number of processes, or -1 for one per CPU")
    model_id = o.model_id or re.sub(r"[^a-z0-9._-]+", "-", o.target.lower()).strip("-._") + "-model"
    if not MODEL_ID.fullmatch(model_id):
        raise InputError(f"--model-id {model_id!r} is not a usable model id: use 1-64 lower-case "
                         "letters, digits, '.', '_' or '-', starting with a letter or digit.",
                         "E_MODEL_ID")
    return model_id


def _refit(search_params: dict, X, y):
    """A fresh pipeline with a trial's preprocessing, estimator and hyperparameters, fitted."""
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline

    steps = Pipeline([("pre", clone(search_params["pre"])),
                      ("model", clone(search_params["model"]))])
    rest = {k: v for k, v in search_params.items() if k not in ("pre", "model")}
    return steps.set_params(**rest).fit(X, y)


def _distinct_best(ranking: list[Trial]) -> list[Trial]:
    """Scored configurations, best first, each configuration once (random draws can repeat)."""
    seen, out = set(), []
    for t in ranking:
        key = (t.family, json.dumps(t.params, sort_keys=True, default=str))
        if not math.isnan(t.mean) and key not in seen:
            seen.add(key)
            out.append(t)
    return out


def _pick(o: SearchOptions, data, end: int, ranking: list[Trial], metric: str, model_id: str,
          progress: Progress, cancel) -> tuple[list[Candidate], list[dict]]:
    """Refit the best configurations (in parallel) and make candidates, walking down the
    ranking past any that cannot be exported or fail their own suite."""
    from joblib import Parallel, delayed

    train, held = data.frame.iloc[:end], data.frame.iloc[end:]
    X, y = train[data.features], train[data.target]
    queue, chosen, skipped = _distinct_best(ranking), [], []
    while queue and len(chosen) < o.top:
        batch, queue = queue[: o.top - len(chosen)], queue[o.top - len(chosen):]
        progress(0.75, f"Refitting {len(batch)} configuration(s) on {len(X)} rows")
        fitted = Parallel(n_jobs=min(len(batch), o.n_jobs) if o.n_jobs > 0 else o.n_jobs)(
            delayed(_refit)(t.search_params, X, y) for t in batch)
        for trial, model in zip(batch, fitted, strict=True):
            if cancel is not None:
                cancel.check()
            label = f"{model_id} candidate {len(chosen) + 1}"
            try:
                chosen.append(make_candidate(model, trial, train, held, data, model_id, metric,
                                             o.margin, o.reference_rows, o.seed, label, o.folds))
            except EngineError as exc:
                log.warning("configuration %d (%s) skipped: %s", trial.index, trial.family,
                            exc.message)
                skipped.append({"index": trial.index, "family": trial.family,
                                "reason": f"{exc.message} [{exc.code}]"})
    if not chosen:
        reasons = "; ".join(s["reason"] for s in skipped[:3]) or "no configuration had a score"
        raise EngineError(f"no configuration could be made into a candidate: {reasons}.",
                          "E_SEARCH_FAILED")
    return chosen, skipped


def search(o: SearchOptions, progress: Progress = no_progress,
           cancel: CancelToken | None = None) -> dict:
    """Run the search and write OUTDIR; returns the command's JSON result."""
    started, clock = build_time(), time.monotonic()
    out = Path(o.output)
    check_output_folder(out)
    model_id = _check(o)
    progress(0.0, f"Reading {o.train}")
    data = load_training(Path(o.train), o.target, o.time_column, o.features, o.task, o.sample,
                         o.seed)
    check_feature_names(data.features)
    families = choose_families(o.families, data.task)
    metric = choose_metric(o.metric, data.task)
    end = holdout_start(data.times, o.holdout)
    folds = time_folds(data.times[:end], o.folds)
    if cancel is not None:
        cancel.check()
    progress(0.05, f"Searching {', '.join(f.name for f in families)} on {end} rows, "
                   f"{o.folds} time-ordered folds")
    trials = run_search(data.X.iloc[:end], data.y.iloc[:end], list(data.numeric),
                        list(data.categorical), folds, families, data.task, metric, o.iterations,
                        o.seed, o.n_jobs)
    if cancel is not None:
        cancel.check()
    ranking = ranked(trials, metric)
    chosen, skipped = _pick(o, data, end, ranking, metric, model_id, progress, cancel)
    progress(0.95, f"Writing {out}")
    files, cand_records = {}, []
    for k, c in enumerate(chosen, start=1):
        folder = f"candidate-{k}"
        files |= {f"{folder}/{name}": data_ for name, data_ in c.files.items()}
        cand_records.append({
            "rank": k, "index": c.trial.index, "family": c.trial.family,
            "params": c.trial.params, "score": c.trial.mean, "std": c.trial.std,
            "reference_value": c.reference_value, "reference_rows": c.reference_rows,
            "requirement": json.loads(c.files["requirements.json"])["metrics"][0],
            "folder": str(out / folder), "model_id": model_id,
            "coefficients_sha256": rec.sha256(c.files["coefficients.json"]),
            "coefficients_bytes": len(c.files["coefficients.json"])})
    rank_of = {t.index: r for r, t in enumerate(ranking, start=1) if not math.isnan(t.mean)}
    estimators = {f.name: f.estimator_name(data.task) for f in FAMILIES.values()}
    document = rec.clean({
        "format": rec.RECORD_FORMAT, "created": started.isoformat(),
        "seconds": round(time.monotonic() - clock, 3), "model_id": model_id,
        "data": rec.data_record(data), "task": data.task, "task_reason": data.task_reason,
        "classes": list(data.classes) if data.classes is not None else None,
        "metric": rec.metric_record(metric),
        "validation": rec.fold_record(data, folds, end, o.holdout),
        "search": {"kind": "randomized" if o.iterations else "grid",
                   "iterations": o.iterations, "seed": o.seed, "n_jobs": o.n_jobs,
                   "families": {f.name: {"estimator": f.estimator_name(data.task),
                                         "preprocessing": f.encoding, "fixed": f.fixed,
                                         "space": f.space, "grid": f.grid}
                                for f in families}},
        "requirements_margin": o.margin,
        "trials": [rec.trial_record(t, rank_of.get(t.index), estimators[t.family])
                   for t in ranking],
        "candidates": cand_records, "skipped": skipped, "libraries": rec.libraries()})
    files["search.json"] = (json.dumps(document, indent=1, allow_nan=False) + "\n").encode()
    write_folder(out, files)
    return {"task": data.task, "metric": metric, "tried": len(trials),
            "candidates": [{key: c[key] for key in ("rank", "family", "params", "score", "std",
                                                    "folder")} for c in cand_records],
            "record": str(out / "search.json"), "skipped": len(skipped),
            "seconds": document["seconds"]}
