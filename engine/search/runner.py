"""Running the search: scikit-learn's RandomizedSearchCV or GridSearchCV over one pipeline whose
preprocessing and estimator are themselves search parameters, one subspace per family, scored on
our time-ordered folds in parallel through joblib (n_jobs)."""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass

import numpy as np

from engine.errors import EngineError
from engine.metrics import GREATER_IS_BETTER
from engine.search.families import Family, distributions
from engine.search.folds import Fold
from engine.search.pipeline import preprocessor
from engine.search.scoring import MetricScorer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Trial:
    """One configuration tried: its family, hyperparameters and scores (in the metric's own
    sign: an rmse is positive, lower is better)."""

    index: int
    family: str
    params: dict  # the estimator's hyperparameters that the search chose (JSON values)
    search_params: dict  # the same for the pipeline, with the steps themselves, for refitting
    fold_scores: tuple[float, ...]
    mean: float  # over the folds where the metric is defined (NaN when it is nowhere)
    std: float
    fit_time: float  # mean seconds per fold
    fit_time_std: float
    score_time: float


def _json_value(value):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def base_pipeline(family: Family, task: str, seed: int, numeric, categorical):
    from sklearn.pipeline import Pipeline

    return Pipeline([("pre", preprocessor(family.encoding, numeric, categorical)),
                     ("model", family.build(task, seed))])


def search_space(families: list[Family], task: str, seed: int, numeric, categorical,
                 grid: bool) -> list[dict]:
    space = []
    for family in families:
        sub = {"pre": [preprocessor(family.encoding, numeric, categorical)],
               "model": [family.build(task, seed)]}
        params = family.grid if grid else distributions(family.space)
        space.append(sub | {f"model__{k}": v for k, v in params.items()})
    return space


def run_search(X, y, numeric: list[str], categorical: list[str], folds: list[Fold],
               families: list[Family], task: str, metric: str, iterations: int | None,
               seed: int, n_jobs: int) -> list[Trial]:
    """Every configuration tried, in the order scikit-learn tried them. `iterations=None` runs
    the full grid."""
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    pipe = base_pipeline(families[0], task, seed, numeric, categorical)
    space = search_space(families, task, seed, numeric, categorical, iterations is None)
    cv = [(f.train, f.validation) for f in folds]
    common = {"scoring": MetricScorer(metric), "cv": cv, "n_jobs": n_jobs, "refit": False,
              "error_score": np.nan}
    if iterations is None:
        search = GridSearchCV(pipe, space, **common)
    else:
        search = RandomizedSearchCV(pipe, space, n_iter=iterations, random_state=seed, **common)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            search.fit(X, y)
        except ValueError as exc:
            if "fits failed" in str(exc):
                raise EngineError(f"every configuration failed to fit; scikit-learn said: "
                                  f"{str(exc).strip()[:600]}", "E_SEARCH_FAILED") from None
            raise
    for w in caught:  # fit failures matter; convergence notes and the like do not
        level = logging.WARNING if type(w.message).__name__ == "FitFailedWarning" else logging.DEBUG
        log.log(level, "%s", str(w.message).strip()[:600])
    return _trials(search.cv_results_, len(folds), metric)


def _trials(results: dict, k: int, metric: str) -> list[Trial]:
    sign = 1.0 if GREATER_IS_BETTER[metric] else -1.0
    trials = []
    for i, params in enumerate(results["params"]):
        scores = np.array([sign * results[f"split{j}_test_score"][i] for j in range(k)],
                          dtype=np.float64)
        defined = scores[np.isfinite(scores)]
        model = params["model"]
        chosen = {key[len("model__"):]: _json_value(v) for key, v in params.items()
                  if key.startswith("model__")}
        trials.append(Trial(
            index=i, family=_family_of(model), params=chosen, search_params=dict(params),
            fold_scores=tuple(float(s) for s in scores),
            mean=float(defined.mean()) if defined.size else math.nan,
            std=float(defined.std()) if defined.size else math.nan,
            fit_time=float(results["mean_fit_time"][i]),
            fit_time_std=float(results["std_fit_time"][i]),
            score_time=float(results["mean_score_time"][i])))
    return trials


def _family_of(estimator) -> str:
    from engine.search.families import FAMILIES

    name = type(estimator).__name__
    return next(f.name for f in FAMILIES.values() if name in (f.classifier, f.regressor))


def ranked(trials: list[Trial], metric: str) -> list[Trial]:
    """Best first by mean validation score; configurations without a score last."""
    sign = -1.0 if GREATER_IS_BETTER[metric] else 1.0
    return sorted(trials, key=lambda t: (math.isnan(t.mean), sign * t.mean
                                         if not math.isnan(t.mean) else 0.0, t.index))
