"""Publisher command: `ratchet search`, candidate models from a hyperparameter search."""

from __future__ import annotations

from pathlib import Path

from engine.errors import InputError


def _names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise InputError(f"{text!r} names nothing; give comma-separated names.", "E_USAGE")
    return names


def register(sub) -> None:
    p = sub.add_parser(
        "search", help="publisher: candidate models from a hyperparameter search",
        description="Search the supported model families and their hyperparameters with "
        "scikit-learn (in parallel through joblib) on time-ordered folds, and write the best "
        "few as candidate folders (coefficients.json, requirements.json, "
        "regression_cases.csv) ready for `ratchet bundle build`, with the search record "
        "search.json. The latest --holdout share of rows by time takes no part in the search: "
        "the candidates' reference sample and cases come from it.")
    p.add_argument("train", metavar="TRAIN.csv", help="labelled training data (CSV, may be "
                   "zipped or gzipped)")
    p.add_argument("--target", required=True, metavar="COL", help="the column to predict")
    p.add_argument("--time-column", required=True, metavar="COL",
                   help="orders the rows for validation (dates or numbers); not a feature")
    p.add_argument("--features", metavar="A,B,...", help="feature columns (default: all "
                   "columns except the target and the time column)")
    p.add_argument("--task", choices=("auto", "classification", "regression"), default="auto",
                   help="default: inferred from the target (text or at most 10 distinct whole "
                   "numbers: classification)")
    p.add_argument("--families", metavar="LIST", help="comma-separated, from hgb, rf, et, gb, "
                   "dt, logreg (classification), ridge, lasso, elasticnet, linear (regression), "
                   "xgboost and lightgbm (where installed); default hgb,rf,et,gb and logreg or "
                   "ridge")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--iterations", type=int, default=20, metavar="N",
                     help="randomized search: configurations to try (default 20)")
    how.add_argument("--grid", action="store_true", help="try each family's small fixed grid "
                     "instead")
    p.add_argument("--folds", type=int, default=3, metavar="K", help="time-ordered "
                   "expanding-window folds (TimeSeriesSplit on rows sorted by time; default 3)")
    p.add_argument("--holdout", type=float, default=0.1, metavar="FRACTION",
                   help="latest share of rows kept out of the search (default 0.1)")
    p.add_argument("--metric", metavar="M", help="what the search maximizes or minimizes "
                   "(default roc_auc for classifiers, rmse for regression)")
    p.add_argument("--top", type=int, default=3, metavar="N", help="candidates to write "
                   "(default 3)")
    p.add_argument("--model-id", metavar="ID", help="model id of the candidates (default: "
                   "TARGET-model); use the id of the model they challenge")
    p.add_argument("--seed", type=int, default=0, metavar="S")
    p.add_argument("--n-jobs", type=int, default=-1, metavar="J",
                   help="parallel processes (default -1: one per CPU)")
    p.add_argument("--sample", type=int, metavar="ROWS", help="use a random subsample of the "
                   "labelled rows (for speed)")
    p.add_argument("--reference-rows", type=int, default=3000, metavar="N",
                   help="labelled held-out rows in each candidate's reference sample "
                   "(default 3000)")
    p.add_argument("--margin", type=float, default=0.02, metavar="F",
                   help="requirement bound = the measured value moved F x |value| to the safe "
                   "side (default 0.02)")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                   help="a new (or empty) folder for the candidates and search.json")
    p.set_defaults(handler=cmd_search)


def cmd_search(args, ws_root) -> tuple[int, dict]:
    from engine.search.run import SearchOptions, search

    try:
        import sklearn  # noqa: F401
    except ImportError as exc:
        raise InputError("searching needs scikit-learn: install the publisher extra with "
                         "`pip install 'ratchet[publish]'`.", "E_PUBLISH_EXTRA") from exc
    options = SearchOptions(
        train=Path(args.train), target=args.target, time_column=args.time_column,
        output=Path(args.output), features=_names(args.features), task=args.task,
        families=_names(args.families), iterations=None if args.grid else args.iterations,
        folds=args.folds, holdout=args.holdout, metric=args.metric, top=args.top,
        model_id=args.model_id, seed=args.seed, n_jobs=args.n_jobs, sample=args.sample,
        reference_rows=args.reference_rows, margin=args.margin)
    return 0, search(options)
