"""Estimators of ratchet-coefficients/1: linear models and tree ensembles.

Each turns the preprocessed matrix into raw scores (n_rows x n_outputs); `outputs.py` turns
raw scores into predictions and probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.model.reader import Reader
from engine.model.trees import TreeEnsemble


@dataclass(frozen=True, slots=True)
class Linear:
    """raw = X @ coef.T + intercept (one row of coef per output)."""

    coef: np.ndarray
    intercept: np.ndarray
    mean: np.ndarray | None = None  # the training sample's mean of each column (explanations)
    # Any NaN input makes a NaN score, so missing inputs can be found from the scores.
    propagates_nan = True

    @property
    def n_outputs(self) -> int:
        return self.coef.shape[0]

    def raw(self, X: np.ndarray) -> np.ndarray:
        if self.coef.shape[0] == 1:
            # One output: a matrix-vector product, as scikit-learn computes it for 1-d coef_.
            return (X @ self.coef[0] + self.intercept[0])[:, None]
        return X @ self.coef.T + self.intercept

    @classmethod
    def parse(cls, r: Reader, n_features: int) -> Linear:
        r.only_keys({"kind", "coef", "intercept", "mean"})
        coef = r.child("coef").matrix(cols=n_features)
        if coef.shape[0] == 0:
            raise r.child("coef").fail("expected at least one row of coefficients")
        mean = r.optional("mean")
        return cls(coef, r.child("intercept").floats(coef.shape[0]),
                   None if mean is None else mean.floats(n_features))


ESTIMATORS = {"linear": Linear.parse, "trees": TreeEnsemble.parse}
