"""The local back-test reads its corpus once: the champion's multivariate drift errors are
computed from the batches as they are scored (their columns converted once, shared with the
models), with the same numbers as reading the corpus a second time for them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import engine.backtest.corpus as corpus_module
import engine.backtest.multivariate as multivariate
import engine.backtest.score as score_module
from engine.backtest.contenders import installed_contender
from engine.backtest.corpus import Needed
from engine.backtest.run import run_backtest
from engine.backtest.score import Task, score_file
from engine.nowtest.multivariate import BLOCK, category_codes
from engine.nowtest.multivariate_scan import reference_fit
from engine.registry.registry import Registry
from tests.engine.test_nowtest_multivariate import CORPUS


def _champion(ws):
    registry = Registry.open(ws.root)
    try:
        return installed_contender(registry, None)
    finally:
        registry.close()


def _corpus(tmp_path):
    df = pd.read_csv(CORPUS)
    path = tmp_path / "h1.csv"
    df[df["date"] < "2013-04"].to_csv(path, index=False)
    return path


def test_the_corpus_is_read_once_with_drift(ws, tmp_path, monkeypatch):
    champion = _champion(ws)
    assert champion.reference is not None
    path = _corpus(tmp_path)
    reads = []
    real = corpus_module.iter_batches

    def counted(*args, **kwargs):
        reads.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(score_module, "iter_batches", counted)
    monkeypatch.setattr(multivariate, "iter_batches", counted)

    result = run_backtest(path, "date", "month", champion, bootstrap=10)

    assert [r["partition"] for r in result.multivariate] == ["2013-01", "2013-02", "2013-03"]
    assert reads == [path]


def test_errors_computed_while_scoring_equal_a_second_read(ws, tmp_path):
    champion = _champion(ws)
    path = _corpus(tmp_path)
    model = champion.model
    fit, extra = multivariate.errors_hook(model, champion.reference)
    assert fit is reference_fit(model, champion.reference)
    task = Task(model.task, model.classes, Needed(tuple(model.feature_names), model.target,
                                                  "date"), "month")
    shared = score_file(path, task, [("m", model)], n_jobs=2, extra=extra)
    plain = score_file(path, task, [("m", model)])
    assert plain.extra is None
    again = multivariate.row_errors([path], task.needed, model, fit)
    assert shared.extra.tolist() == again.tolist()
    assert shared.outputs["m"].proba.tolist() == plain.outputs["m"].proba.tolist()
    assert shared.outputs["m"].rejected.tolist() == plain.outputs["m"].rejected.tolist()


def one_hot_errors(fit, numbers, codes):
    """The reconstruction errors from each category's one-hot matrix, standardized, by the
    direct formula |z - z B B'|: what Fit.errors's per-slot look-ups must equal (to rounding:
    they use |z|^2 - |z B|^2)."""
    n = len(next(iter({**numbers, **codes}.values())))
    out = np.empty(n)
    for start in range(0, n, BLOCK):
        part = slice(start, min(n, start + BLOCK))
        blocks = []
        for e in fit.encodings:
            if e.kind == "number":
                z = (numbers[e.name][part].astype(np.float64) - e.mean[0]) / e.scale[0]
                blocks.append(np.where(np.isnan(z), 0.0, z)[:, None])
            else:
                c = codes[e.name][part]
                onehot = np.zeros((c.size, e.other_slot + 1))
                onehot[np.arange(c.size), c] = 1.0
                blocks.append((onehot[:, e.keep] - e.mean) / e.scale)
        z = np.hstack(blocks)
        out[part] = np.linalg.norm(z - (z @ fit.basis) @ fit.basis.T, axis=1)
    return out


def test_fit_errors_are_the_one_hot_reconstruction_errors(ws, tmp_path):
    champion = _champion(ws)
    model = champion.model
    fit = reference_fit(model, champion.reference)
    df = pd.read_csv(CORPUS).head(3000)
    df.loc[::7, "dest"] = "NOWHERE"  # an unseen category: the "other" slot
    df.loc[::11, "carrier"] = None  # missing: the missing slot
    df.loc[::13, "dep_time"] = None
    numbers = {e.name: df[e.name].to_numpy(float) for e in fit.encodings if e.kind == "number"}
    codes = {e.name: category_codes(df[e.name].to_numpy(object), e)
             for e in fit.encodings if e.kind == "category"}
    assert {e.kind for e in fit.encodings} == {"number", "category"}
    direct, ours = one_hot_errors(fit, numbers, codes), fit.errors(numbers, codes)
    assert direct.min() > 0.5  # no row on the subspace, where a difference of squares is weak
    np.testing.assert_allclose(ours, direct, rtol=1e-12, atol=0)
    assert ours.mean() == pytest.approx(direct.mean(), rel=1e-14)
