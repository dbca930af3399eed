"""The tree kernel compiled ahead of time (installer/kernels.py, run by `make setup` and the
installer; issue 16): it is built and current, it gives the just-in-time kernel's sums to the
last bit for every compiled variant, and a module built from other sources is not used."""

from __future__ import annotations

import numpy as np
import pytest

from engine.model import tree_kernel
from engine.model.tree_kernel import AOT_VARIANTS, aot_module, aot_name, pack_trees
from engine.model.tree_walk import accumulate_trees as jit_accumulate
from installer import kernels


@pytest.fixture(autouse=True)
def fresh_lookup():
    tree_kernel._compiled.clear()
    yield
    tree_kernel._compiled.clear()


def random_forest(rng, n_trees: int, depth: int, n_features: int):
    """Complete trees in breadth-first order (children after parents, leaves -1)."""
    feature, threshold, left, right, value, roots = [], [], [], [], [], []
    for _ in range(n_trees):
        base = len(left)
        roots.append(base)
        n_nodes = 2 ** (depth + 1) - 1
        for i in range(n_nodes):
            split = 2 * i + 2 < n_nodes
            left.append(base + 2 * i + 1 if split else -1)
            right.append(base + 2 * i + 2 if split else -1)
            feature.append(int(rng.integers(n_features)) if split else 0)
            threshold.append(float(rng.normal()) if split else 0.0)
            value.append([float(rng.normal())])
    return (np.array(feature, dtype=np.int64), np.array(threshold), np.array(left),
            np.array(right), rng.random(len(left)) < 0.5, np.array(value), np.array(roots))


def arguments(thr: str, acc: str, X: np.ndarray, by_column: bool):
    rng = np.random.default_rng(7)
    feature, threshold, left, right, missing, value, roots = random_forest(rng, 40, 5, 6)
    nodes, root_codes, dense, leaf_value, bits = pack_trees(
        feature, threshold, left, right, missing, value, roots, 0.1, thr == "float32",
        leaf_dtype=np.dtype(acc))
    n_rows = X.shape[1] if by_column else X.shape[0]
    out = np.full((n_rows, 1), 0.5, dtype=acc)
    xb = np.empty((2048, 6), dtype=thr)
    linear = (np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0),
              np.zeros(0), 1.0)
    return [X, by_column, nodes, root_codes, dense, np.zeros(40, dtype=np.intp), leaf_value,
            out, xb, -1.0, False, bits, -1.0, linear]


def test_make_setup_built_the_kernel_from_these_sources():
    assert kernels.is_current(), ("engine/model/_tree_aot is missing or stale: run `make "
                                  "setup` (python installer/kernels.py)")


@pytest.mark.parametrize(("thr", "acc"), AOT_VARIANTS)
@pytest.mark.parametrize("by_column", [False, True])
def test_the_compiled_kernel_sums_as_the_jit_kernel_to_the_last_bit(thr, acc, by_column):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(5000, 6))
    X[rng.random(X.shape) < 0.05] = np.nan
    X = np.ascontiguousarray(X.T) if by_column else X
    X.flags.writeable = False  # as pyarrow hands columns over
    aot_args = arguments(thr, acc, X, by_column)
    jit_args = arguments(thr, acc, X, by_column)
    assert tree_kernel._aot_fits(tuple(aot_args), np.dtype(thr), np.dtype(acc))
    getattr(aot_module(), aot_name(thr, acc))(*aot_args)
    jit_accumulate(*jit_args)
    assert aot_args[7].dtype == np.dtype(acc)
    assert aot_args[7].tobytes() == jit_args[7].tobytes()
    assert not np.all(aot_args[7] == 0.5)  # the trees added something


def test_a_module_built_from_other_sources_is_not_used(monkeypatch):
    assert aot_module() is not None
    tree_kernel._compiled.clear()
    monkeypatch.setattr(tree_kernel, "source_stamp", lambda folder=None: 12345)
    assert aot_module() is None
    X = np.random.default_rng(3).normal(size=(100, 6))
    args = arguments("float32", "float64", X, False)
    tree_kernel.accumulate_trees(*args)  # numba's kernel stands in
    expected = arguments("float32", "float64", X, False)
    jit_accumulate(*expected)
    assert args[7].tobytes() == expected[7].tobytes()


def test_arguments_of_other_types_go_to_the_jit_kernel():
    X = np.random.default_rng(5).normal(size=(100, 6))
    args = arguments("float64", "float64", X, False)
    args[3] = args[3].astype(np.int64)  # roots of another type than the compiled uint32
    assert not tree_kernel._aot_fits(tuple(args), np.dtype("float64"), np.dtype("float64"))
    tree_kernel.accumulate_trees(*args)
    expected = arguments("float64", "float64", X, False)
    jit_accumulate(*expected)
    assert args[7].tobytes() == expected[7].tobytes()


def test_the_compiled_kernel_lets_other_threads_run_while_it_works():
    """The back-test scores on threads: a call must release the GIL, as the JIT kernel's
    nogil=True does. While another thread is inside one long call (about a second), this
    thread keeps counting: millions of steps. With the GIL held it can count only until the
    call takes the GIL (one switch interval: some 20,000 steps measured)."""
    import threading

    X = np.random.default_rng(13).normal(size=(2_000_000, 6))
    args = arguments("float64", "float64", X, False)
    kernel = getattr(aot_module(), aot_name("float64", "float64"))
    worker = threading.Thread(target=kernel, args=args)
    worker.start()
    counted = 0
    while worker.is_alive():
        counted += 1
    worker.join()
    assert counted > 500_000
