"""Which operator input column each column the estimator receives comes from.

Preprocessing keeps a column's identity (impute, scale, ordinal, missing value), widens it
(one-hot: a block of columns from one input), picks columns (select) or sends groups of
columns through their own steps (column transformer). Contributions of the estimator's columns
are summed per source, so a one-hot block and a scaled column each count for the input they
came from.
"""

from __future__ import annotations

import numpy as np

from engine.model.steps import ColumnTransform, OneHot, Select


def source_columns(steps, n_inputs: int) -> np.ndarray:
    """Per estimator column, the index of the input column it derives from."""
    return np.asarray(_follow(steps, list(range(n_inputs))), dtype=np.intp)


def _follow(steps, sources: list[int]) -> list[int]:
    for step in steps:
        if isinstance(step, OneHot):
            sources = [s for s, enc in zip(sources, step.encoders, strict=True)
                       for _ in range(enc.width)]
        elif isinstance(step, Select):
            sources = [sources[j] for j in step.columns]
        elif isinstance(step, ColumnTransform):
            sources = [s for block in step.blocks
                       for s in _follow(block.steps, [sources[j] for j in block.columns])]
        # every other step maps column j to column j
    return sources


def fold(contrib: np.ndarray, sources: np.ndarray, n_inputs: int) -> np.ndarray:
    """(rows x outputs x estimator columns) -> (rows x outputs x input columns), by sum."""
    if len(sources) == n_inputs and (sources == np.arange(n_inputs)).all():
        return contrib
    out = np.zeros((*contrib.shape[:2], n_inputs))
    for j, s in enumerate(sources):
        out[:, :, s] += contrib[:, :, j]
    return out
