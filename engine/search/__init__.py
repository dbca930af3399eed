"""Publisher side: candidate models from a hyperparameter search (`ratchet search`).

A randomized or grid search over the families our exporter supports, with time-ordered
validation, run by scikit-learn through joblib; the best few configurations are refitted and
written as candidate coefficient files with requirements, regression cases and a search record,
ready for `ratchet bundle build`. scikit-learn is imported lazily, inside the functions that
need it, so that `import engine.search` works on a workstation without the `publish` extra.
"""
