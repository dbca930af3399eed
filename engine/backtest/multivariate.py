"""Multivariate drift per back-test partition (engine.nowtest.multivariate): every timed row of
a partition, labelled or not (drift is about the data), against the champion's reference rows,
with the false-alarm budget of a now-test of that partition. Only one float a row is kept, its
reconstruction error: on this machine computed while the rows are scored, from the same batch
and its columns converted once (`errors_hook`); after a Dask scoring the corpus's input columns
are read a second time here, batch by batch in file order, like the rows were scored."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np

from engine.backtest.corpus import Needed, iter_batches
from engine.backtest.score import Extra, Scored, convert, distinct_words
from engine.model import Model
from engine.model.categories import NUMBER
from engine.nowtest.multivariate import Fit, slots_of
from engine.nowtest.multivariate_scan import reference_fit
from engine.progress import CancelToken

FAMILY_ALPHA = 0.01  # engine.nowtest.run.FAMILY_ALPHA (a now-test of one partition)


def partition_alpha(model: Model) -> float:
    numeric = sum(f.type == NUMBER for f in model.features)
    return FAMILY_ALPHA / (len(model.features) + numeric + 2)


def batch_errors(table, model: Model, fit: Fit, converted: dict | None = None) -> np.ndarray:
    """The reconstruction error of every row of one batch (`converted`: its columns already
    converted by score.convert, shared with the scoring). Category columns are coded from
    Arrow's dictionary encoding (one lookup per distinct text), as category_codes codes their
    cells."""
    marks, converted = model.missing_markers, {} if converted is None else converted
    numbers, codes = {}, {}
    for e in fit.encodings:
        if e.kind == "number":
            numbers[e.name] = convert(table, converted, e.name, e.kind, marks)[0]
        else:
            words, index = distinct_words(table, converted, e.name, marks)
            codes[e.name] = slots_of(words, e)[index]
    return fit.errors(numbers, codes)


def errors_hook(model: Model, reference: bytes | None) -> tuple[Fit | None, Extra | None]:
    """(the champion's reference fit, score_batch's `extra` computing the rows' errors);
    (None, None) when the bundle has no reference rows to fit on."""
    fit = reference_fit(model, reference)
    if fit is None:
        return None, None
    return fit, lambda table, converted: batch_errors(table, model, fit, converted)


def row_errors(files: list[Path], needed: Needed, model: Model, fit: Fit,
               cancel: CancelToken | None = None) -> np.ndarray:
    """The reconstruction error of every row of the corpus, in the order the rows were
    scored (a read of its own)."""
    parts = []
    for f in files:
        for _, table in iter_batches(f, needed):
            if cancel is not None:
                cancel.check()
            parts.append(batch_errors(table, model, fit))
    return np.concatenate(parts) if parts else np.zeros(0)


def partition_drift(files: list[Path], needed: Needed, scored: Scored, model: Model,
                    reference: bytes | None, cancel: CancelToken | None = None) -> list[dict]:
    """[{"partition", and MultivariateDrift's fields}] per partition with rows, in key order;
    [] when the champion's bundle has no reference rows to fit on. The rows' errors are
    `scored.extra` when the scoring computed them (errors_hook), else read here."""
    fit = reference_fit(model, reference)
    if fit is None:
        return []
    errors = scored.extra if scored.extra is not None else row_errors(files, needed, model,
                                                                       fit, cancel)
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
