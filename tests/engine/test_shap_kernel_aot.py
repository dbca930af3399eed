"""The explanation kernels compiled ahead of time (engine/explain/_shap_aot, built by
installer/kernels.py with the tree walk's module): built and current, every entry point gives
numba's results to the last bit on random and real models of both threshold types, a stale or
missing module or arguments of other types fall back to numba, and an explanation with the
module loads no numba at all."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.explain import preprocessed, shap_kernel, trees
from engine.explain.trees import leaf_tables, tree_contributions
from installer import kernels
from tests.engine.conftest import roundtrip
from tests.engine.test_explain_tables import CASES, random_ensemble, random_rows
from tests.engine.test_parity_flights import MODELS, flights  # noqa: F401 - a fixture

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINTS = set(shap_kernel.SPEC)


@pytest.fixture(autouse=True)
def fresh_lookup():
    shap_kernel._compiled.clear()
    trees._cache[0] = None
    yield
    shap_kernel._compiled.clear()
    trees._cache[0] = None


class Recording:
    """The compiled module, noting which of its functions are called."""

    def __init__(self, module):
        self.module, self.called = module, set()

    def __getattr__(self, name):
        self.called.add(name)
        return getattr(self.module, name)


def both_ways(est, X: np.ndarray, depth: int = trees.TABLE_DEPTH):
    """(compiled, numba) results of the whole explanation and of its tables; asserts that the
    first ran every entry point compiled and the second none."""
    module = shap_kernel.aot_module()
    assert module is not None
    recording = Recording(module)
    shap_kernel._compiled["aot"] = recording
    compiled = (*tree_contributions(est, X, depth), *leaf_tables(est, 3))
    assert {name.removesuffix("_float32").removesuffix("_float64")
            for name in recording.called} == ENTRY_POINTS
    trees._cache[0] = None
    shap_kernel._compiled["aot"] = None  # numba's build of the same source
    jit = (*tree_contributions(est, X, depth), *leaf_tables(est, 3))
    return compiled, jit


def assert_identical(compiled, jit) -> None:
    assert len(compiled) == len(jit)
    for a, b in zip(compiled, jit, strict=True):
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()


def test_make_setup_built_the_explanation_kernel_from_these_sources():
    assert kernels.shap_is_current(), ("engine/explain/_shap_aot is missing or stale: run "
                                       "`make setup` (python installer/kernels.py)")


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("depth", [0, trees.TABLE_DEPTH])
def test_random_ensembles_explain_as_numba_to_the_last_bit(name, depth):
    est = random_ensemble(seed=5, **CASES[name])
    compiled, jit = both_ways(est, random_rows(6, 300), depth)
    assert_identical(compiled, jit)
    assert np.abs(compiled[1]).sum() > 0  # the trees contributed something


@pytest.mark.parametrize(("name", "thr"), [("random-forest", "float32"),
                                           ("gradient-boosting", "float32"),
                                           ("hist-gradient-boosting", "float64")])
def test_flights_models_explain_as_numba_to_the_last_bit(flights, name, thr):  # noqa: F811
    X, y, later = flights
    model, _ = roundtrip(MODELS[name]().fit(X, y), X, y, target="late")
    est = model.estimator
    assert est.nodes.dtype["thr"] == np.dtype(thr)
    rows = preprocessed(model, {c: later[c].to_numpy() for c in later.columns})[0][:500]
    compiled, jit = both_ways(est, rows)
    assert_identical(compiled, jit)
    assert np.abs(compiled[1]).sum() > 0


def test_a_stale_or_missing_module_is_not_used(monkeypatch):
    est, X = random_ensemble(seed=8, **CASES["shallow"]), random_rows(9, 100)
    expected = tree_contributions(est, X)
    assert shap_kernel.aot_module() is not None
    for patch in (("source_stamp", lambda engine=None: 12345),
                  ("AOT_MODULE", "_no_such_module")):
        with monkeypatch.context() as m:
            shap_kernel._compiled.clear()
            trees._cache[0] = None
            m.setattr(shap_kernel, *patch)
            assert shap_kernel.aot_module() is None
            assert_identical(tree_contributions(est, X), expected)  # numba stands in


def test_arguments_of_other_types_go_to_numba(monkeypatch):
    est = random_ensemble(seed=10, **CASES["depth-6"])
    roots = est.roots.astype(np.int64)  # not the compiled uint32
    assert not shap_kernel.fits(shap_kernel.SPEC["max_depth"][1], roots, np.dtype("float32"))
    monkeypatch.setitem(shap_kernel._compiled, "aot", None)
    expected = shap_kernel.max_depth(est.nodes, est.roots)
    shap_kernel._compiled.clear()
    assert shap_kernel.aot_module() is not None
    monkeypatch.setitem(shap_kernel._compiled, "aot", Recording(shap_kernel.aot_module()))
    assert shap_kernel.max_depth(est.nodes, roots) == expected
    assert shap_kernel._compiled["aot"].called == set()
    strided = np.ascontiguousarray(np.repeat(est.roots, 2))[::2]  # not C-contiguous
    assert shap_kernel.max_depth(est.nodes, strided) == expected
    assert shap_kernel._compiled["aot"].called == set()
    assert shap_kernel.max_depth(est.nodes, est.roots) == expected
    assert shap_kernel._compiled["aot"].called == {"max_depth_float32"}


EXPLAIN_WITHOUT_NUMBA = """
import json, sys
import numpy as np
from engine.explain import explain
from engine.model import load_coefficients
model = load_coefficients(sys.stdin.read())
rows = json.loads(sys.argv[1])
explanation = explain(model, {k: np.array(v, dtype=object if isinstance(v[0], str) else float)
                              for k, v in rows.items()})
assert np.abs(explanation.contributions).sum() > 0
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("numba", "llvmlite"))))
"""


@pytest.mark.parametrize("name", ["random-forest", "hist-gradient-boosting"])
def test_an_explanation_with_the_compiled_module_loads_no_numba(flights, name):  # noqa: F811
    X, y, later = flights
    _, doc = roundtrip(MODELS[name]().fit(X, y), X, y, target="late")
    sample = later.head(50)
    rows = {c: sample[c].tolist() for c in sample.columns}  # NaN: json's NaN
    done = subprocess.run([sys.executable, "-c", EXPLAIN_WITHOUT_NUMBA, json.dumps(rows)],
                          input=json.dumps(doc, allow_nan=False), capture_output=True,
                          text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
