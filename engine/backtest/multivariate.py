"""Multivariate drift per back-test partition (engine.nowtest.multivariate): every timed row of
a partition, labelled or not (drift is about the data), against the champion's reference rows,
with the false-alarm budget of a now-test of that partition. The corpus's input columns are
read a second time, batch by batch in file order, like the rows were scored (on this machine
also when the scoring ran on Dask): only one float a row is kept, its reconstruction error."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np

from engine.backtest.columns import category_values, number_values
from engine.backtest.corpus import Needed, iter_batches
from engine.backtest.score import Scored
from engine.model import Model
from engine.model.categories import NUMBER
from engine.nowtest.multivariate import Fit, category_codes
from engine.nowtest.multivariate_scan import reference_fit
from engine.progress import CancelToken

FAMILY_ALPHA = 0.01  # engine.nowtest.run.FAMILY_ALPHA (a now-test of one partition)


def partition_alpha(model: Model) -> float:
    numeric = sum(f.type == NUMBER for f in model.features)
    return FAMILY_ALPHA / (len(model.features) + numeric + 2)


def row_errors(files: list[Path], needed: Needed, model: Model, fit: Fit,
               cancel: CancelToken | None = None) -> np.ndarray:
    """The reconstruction error of every row of the corpus, in the order the rows were
    scored."""
    marks = model.missing_markers
    parts = []
    for f in files:
        for _, table in iter_batches(f, needed):
            if cancel is not None:
                cancel.check()
            numbers, codes = {}, {}
            for e in fit.encodings:
                col = table.column(e.name)
                if e.kind == "number":
                    numbers[e.name] = number_values(col, marks)[0]
                else:
                    codes[e.name] = category_codes(category_values(col, marks), e)
            parts.append(fit.errors(numbers, codes))
    return np.concatenate(parts) if parts else np.zeros(0)


def partition_drift(files: list[Path], needed: Needed, scored: Scored, model: Model,
                    reference: bytes | None, cancel: CancelToken | None = None) -> list[dict]:
    """[{"partition", and MultivariateDrift's fields}] per partition with rows, in key order;
    [] when the champion's bundle has no reference rows to fit on."""
    fit = reference_fit(model, reference)
    if fit is None:
        return []
    errors = row_errors(files, needed, model, fit, cancel)
    if errors.size != scored.rows:  # the files changed between the passes: say nothing
        return []
    alpha = partition_alpha(model)
    out = []
    for i, key in enumerate(scored.keys):
        if not key:
            continue
        drift = fit.judge(errors[scored.key_code == i], alpha)
        if drift is not None:
            out.append({"partition": key, **asdict(drift)})
    return out
