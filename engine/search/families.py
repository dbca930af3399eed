"""The model families a search may try: only estimators our exporter supports, each with its
hyperparameter space (for --iterations) and a small grid (for --grid).

Spaces are plain data here (turned into scipy distributions only when a search runs) so that
this module imports without scikit-learn and the record can state them. Tree depths and counts
are bounded so that every winner exports to a coefficient file far below the bundle's size
limit (a 150-tree, depth-10 forest is about 15 MB of JSON).
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field

from engine.errors import InputError

# ("int", lo, hi) inclusive; ("float", lo, hi) uniform; ("log", lo, hi) log-uniform;
# ("choice", [values]).
Space = dict[str, tuple]


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    module: str
    classifier: str | None  # class name for classification, None if the family has none
    regressor: str | None
    encoding: str  # "scaled-one-hot" | "imputed-ordinal" | "native-ordinal" (see pipeline.py)
    space: Space
    grid: dict[str, list]
    fixed: dict = field(default_factory=dict)
    seeded: bool = True  # takes random_state

    def estimator_name(self, task: str) -> str | None:
        return self.regressor if task == "regression" else self.classifier

    def build(self, task: str, seed: int):
        """A fresh, unfitted estimator of this family for `task` (imports scikit-learn)."""
        cls = getattr(importlib.import_module(self.module), self.estimator_name(task))
        extra = {"random_state": seed} if self.seeded else {}
        return cls(**self.fixed, **extra)


_FOREST_SPACE: Space = {"n_estimators": ("int", 50, 150), "max_depth": ("int", 4, 10),
                        "min_samples_leaf": ("int", 5, 50),
                        "max_features": ("choice", ["sqrt", 0.5, 1.0])}
_FOREST_GRID = {"n_estimators": [100], "max_depth": [6, 10], "min_samples_leaf": [10, 50]}

FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("hgb", "sklearn.ensemble", "HistGradientBoostingClassifier",
           "HistGradientBoostingRegressor", "native-ordinal",
           {"learning_rate": ("log", 0.02, 0.3), "max_iter": ("int", 50, 300),
            "max_leaf_nodes": ("int", 8, 63), "min_samples_leaf": ("int", 10, 200),
            "l2_regularization": ("log", 1e-4, 10.0)},
           {"learning_rate": [0.05, 0.1], "max_leaf_nodes": [15, 31], "max_iter": [100, 200]},
           fixed={"early_stopping": False}),  # its own stopping split would not be time-ordered
    Family("rf", "sklearn.ensemble", "RandomForestClassifier", "RandomForestRegressor",
           "imputed-ordinal", _FOREST_SPACE, _FOREST_GRID, fixed={"n_jobs": 1}),
    Family("et", "sklearn.ensemble", "ExtraTreesClassifier", "ExtraTreesRegressor",
           "imputed-ordinal", _FOREST_SPACE, _FOREST_GRID, fixed={"n_jobs": 1}),
    Family("gb", "sklearn.ensemble", "GradientBoostingClassifier", "GradientBoostingRegressor",
           "imputed-ordinal",
           {"n_estimators": ("int", 50, 200), "learning_rate": ("log", 0.02, 0.3),
            "max_depth": ("int", 2, 5), "subsample": ("float", 0.6, 1.0),
            "min_samples_leaf": ("int", 5, 100)},
           {"n_estimators": [100, 200], "max_depth": [3, 5]}),
    Family("dt", "sklearn.tree", "DecisionTreeClassifier", "DecisionTreeRegressor",
           "imputed-ordinal", {"max_depth": ("int", 3, 12), "min_samples_leaf": ("int", 5, 200)},
           {"max_depth": [4, 8, 12], "min_samples_leaf": [20]}),
    Family("logreg", "sklearn.linear_model", "LogisticRegression", None, "scaled-one-hot",
           {"C": ("log", 1e-3, 100.0)}, {"C": [0.01, 0.1, 1.0, 10.0]}, fixed={"max_iter": 2000}),
    Family("ridge", "sklearn.linear_model", None, "Ridge", "scaled-one-hot",
           {"alpha": ("log", 1e-3, 1e3)}, {"alpha": [0.1, 1.0, 10.0, 100.0]}),
    Family("lasso", "sklearn.linear_model", None, "Lasso", "scaled-one-hot",
           {"alpha": ("log", 1e-4, 10.0)}, {"alpha": [0.001, 0.01, 0.1, 1.0]},
           fixed={"max_iter": 5000}),
    Family("elasticnet", "sklearn.linear_model", None, "ElasticNet", "scaled-one-hot",
           {"alpha": ("log", 1e-4, 10.0), "l1_ratio": ("float", 0.05, 0.95)},
           {"alpha": [0.01, 0.1, 1.0], "l1_ratio": [0.2, 0.5, 0.8]}, fixed={"max_iter": 5000}),
    Family("linear", "sklearn.linear_model", None, "LinearRegression", "scaled-one-hot", {},
           {}, seeded=False),
)}

# Offered only where the library is installed (the publisher's `publish` extra brings them);
# workstations never need them: the exported file is predicted by our own code.
GBM_FAMILIES = (
    Family("xgboost", "xgboost", "XGBClassifier", "XGBRegressor", "native-ordinal",
           {"n_estimators": ("int", 50, 300), "max_depth": ("int", 2, 8),
            "learning_rate": ("log", 0.02, 0.3), "subsample": ("float", 0.6, 1.0),
            "min_child_weight": ("log", 0.5, 20.0), "reg_lambda": ("log", 1e-3, 10.0)},
           {"n_estimators": [100, 200], "max_depth": [3, 6]},
           fixed={"n_jobs": 1, "tree_method": "hist"}),
    Family("lightgbm", "lightgbm", "LGBMClassifier", "LGBMRegressor", "native-ordinal",
           {"n_estimators": ("int", 50, 300), "num_leaves": ("int", 7, 63),
            "learning_rate": ("log", 0.02, 0.3), "min_child_samples": ("int", 5, 100),
            "subsample": ("float", 0.6, 1.0), "reg_lambda": ("log", 1e-3, 10.0)},
           {"n_estimators": [100, 200], "num_leaves": [15, 31]},
           fixed={"n_jobs": 1, "subsample_freq": 1, "verbose": -1}),
)
FAMILIES.update({f.name: f for f in GBM_FAMILIES
                 if importlib.util.find_spec(f.module) is not None})

DEFAULT_FAMILIES = {"classification": ("hgb", "rf", "et", "gb", "logreg"),
                    "regression": ("hgb", "rf", "et", "gb", "ridge")}


def _kind(task: str) -> str:
    return "regression" if task == "regression" else "classification"


def choose_families(names: list[str] | None, task: str) -> list[Family]:
    """The families for a task: the defaults, or the named ones (each must exist and fit)."""
    if not names:
        return [FAMILIES[n] for n in DEFAULT_FAMILIES[_kind(task)]]
    unknown = [n for n in names if n not in FAMILIES]
    if unknown:
        raise InputError(f"unknown model family {', '.join(map(repr, unknown))}; the families "
                         f"are {', '.join(FAMILIES)}.", "E_FAMILY")
    wrong = [n for n in names if FAMILIES[n].estimator_name(task) is None]
    if wrong:
        fitting = [n for n, f in FAMILIES.items() if f.estimator_name(task) is not None]
        raise InputError(f"the family {', '.join(map(repr, wrong))} does not fit a "
                         f"{_kind(task)} target; for this target use {', '.join(fitting)}.",
                         "E_FAMILY")
    return [FAMILIES[n] for n in dict.fromkeys(names)]


def distributions(space: Space) -> dict:
    """scipy distributions (and lists) for RandomizedSearchCV."""
    from scipy import stats

    out = {}
    for name, (kind, *args) in space.items():
        if kind == "int":
            out[name] = stats.randint(args[0], args[1] + 1)
        elif kind == "float":
            out[name] = stats.uniform(args[0], args[1] - args[0])
        elif kind == "log":
            out[name] = stats.loguniform(args[0], args[1])
        else:
            out[name] = list(args[0])
    return out
