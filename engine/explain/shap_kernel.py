"""The explanation kernels' entry points (treeshap's and leaftables' numba functions that
engine/explain/trees.py calls), run by the module compiled ahead of time when it fits, else by
numba's just-in-time build of the same source.

engine/explain/_shap_aot (built by installer/kernels.py with the tree walk's module: `make
setup`, the installer) exports each entry point once per threshold type of the node records
(`<name>_float32`, `<name>_float64`; `fill_tables` reads no records: one function), compiled
from the same Python source with the same flags, so its results are numba's to the last bit
(tests/engine/test_shap_kernel_aot.py). It loads without numba: with it an explanation neither
compiles (some 10 s on a workstation, once per numba cache) nor imports numba (0.5-0.8 s).
numba's build stands in where the module is missing, stale (its stamp is not the hash of the
sources in SOURCES and of the compiled types, SPEC) or the arguments are not of the
compiled types; numba is imported only then. An installed app ships no sources: its module
is trusted, being built with it.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from engine.model import aot
from engine.model.tree_kernel import node_dtype

AOT_MODULE = "_shap_aot"
THRESHOLDS = ("float32", "float64")  # the node records' threshold types (tree_kernel)
_ENGINE = Path(__file__).resolve().parent.parent
SOURCES = ("explain/treeshap.py", "explain/leaftables.py", "model/tree_codes.py",
           "model/tree_walk.py")  # in engine/ (tree_walk: the split test, goes_left)
AOT_BUILD = 1  # raised when installer/kernels.py builds differently
_compiled: dict = {}

# The compiled types, argument by argument. An array is (dtype, ndim, written); dtype NODES is
# node_dtype(thresholds), THR the thresholds' type. A scalar is float or int; a tuple of specs
# is a tuple argument. RESULTS: what an entry point returns (None: nothing).
NODES, THR = "nodes", "thr"
F8, I8, U4, B1 = np.float64, np.int64, np.uint32, np.bool_
TABLES = ((B1, 1, False), (I8, 1, False), (I8, 1, False), (I8, 1, False), (I8, 1, False),
          (I8, 2, False), (I8, 1, False), (F8, 1, False), (I8, 1, False), (I8, 1, False),
          (I8, 2, False), (F8, 1, False))  # tree_shap's `tables`, from leaftables
_nodes, _u4, _i8, _f8 = (NODES, 1, False), (U4, 1, False), (I8, 1, False), (F8, 1, False)
SPEC = {
    "expected_values": (_nodes, _u4, _i8, (F8, 2, False), _f8, _f8, (F8, 1, True)),
    "max_depth": (_nodes, _u4),
    "tree_shap": ((F8, 2, False), _nodes, _u4, _i8, (F8, 2, False), _f8, _f8, _u4, float, float,
                  int, (THR, 2, True), (F8, 3, True), TABLES),
    "path_slots": (_nodes, _u4, _f8, _f8, int),
    "fill_tables": (_i8, _i8, (F8, 2, False), _i8, (F8, 1, True)),
    "fill_combos": (_nodes, _u4, _i8, (B1, 1, False), _i8, _i8, _i8, (I8, 2, False), _i8, _f8,
                    (F8, 2, False), int, _i8, _i8, (I8, 2, False), (F8, 1, True)),
}
RESULTS = {"max_depth": int,
           "path_slots": ((I8, 1), (I8, 1), (I8, 1), (I8, 2), (F8, 2), (B1, 1), (I8, 1),
                          (I8, 1))}
JIT_MODULE = {"expected_values": "treeshap", "max_depth": "treeshap", "tree_shap": "treeshap",
              "path_slots": "leaftables", "fill_tables": "leaftables",
              "fill_combos": "leaftables"}


def variants(name: str) -> tuple:
    """The threshold types `name` is compiled for (None: one function, no records read)."""
    return THRESHOLDS if _nodes in SPEC[name] else (None,)


def aot_name(name: str, thr: str | None) -> str:
    return name if thr is None else f"{name}_{thr}"


def source_stamp(engine: Path = _ENGINE) -> int | None:
    """The hash of the sources and of the compiled types as a positive int64 (None: no sources
    here, a frozen app)."""
    types = f"{SPEC!r} {RESULTS!r} {[node_dtype(t).descr for t in THRESHOLDS]}"
    return aot.source_stamp((engine / name for name in SOURCES),
                            f"build {AOT_BUILD}\n{types}\n")


def aot_module():
    """The ahead-of-time kernels when they are there and built from these sources, else None."""
    if "aot" not in _compiled:
        _compiled["aot"] = aot.current_module(f"engine.explain.{AOT_MODULE}", source_stamp())
    return _compiled["aot"]


def fits(spec, value, thr: np.dtype) -> bool:
    """`value` is of the compiled type `spec` (see SPEC) for records with thresholds `thr`."""
    if isinstance(spec, type):
        kinds = (int, np.integer) if spec is int else (int, float, np.integer, np.floating)
        return isinstance(value, kinds) and not isinstance(value, (bool, np.bool_))
    if isinstance(spec[0], tuple):
        return (isinstance(value, tuple) and len(value) == len(spec)
                and all(fits(s, v, thr) for s, v in zip(spec, value, strict=True)))
    dtype, ndim, written = spec
    dtype = node_dtype(thr) if dtype == NODES else thr if dtype == THR else dtype
    return aot.array_fits(value, dtype, ndim, written)


def _compiled_function(name: str, args: tuple):
    """The compiled `name` for these arguments, or None (no current module, or arguments not
    of its types)."""
    module, spec = aot_module(), SPEC[name]
    if module is None or len(args) != len(spec):
        return None
    thr = None
    if _nodes in spec:
        fields = getattr(getattr(args[spec.index(_nodes)], "dtype", None), "fields", None) or {}
        thr = fields.get("thr", (None,))[0]
        if thr is None or thr.name not in THRESHOLDS:
            return None
    if not all(fits(s, a, thr) for s, a in zip(spec, args, strict=True)):
        return None
    return getattr(module, aot_name(name, None if thr is None else thr.name))


def _run(name: str, args: tuple):
    function = _compiled_function(name, args)
    if function is None:  # numba's build, numba loaded only now
        function = getattr(importlib.import_module(f"engine.explain.{JIT_MODULE[name]}"), name)
    return function(*args)


def expected_values(*args) -> None:
    """treeshap.expected_values (its arguments, what it adds to `out`)."""
    _run("expected_values", args)


def max_depth(*args) -> int:
    """treeshap.max_depth: the deepest leaf's depth over all trees."""
    return int(_run("max_depth", args))


def tree_shap(*args) -> None:
    """treeshap.tree_shap (its arguments, what it adds to `phi`)."""
    _run("tree_shap", args)


def path_slots(*args) -> tuple:
    """leaftables.path_slots (its arguments and results)."""
    return _run("path_slots", args)


def fill_tables(*args) -> None:
    """leaftables.fill_tables (its arguments, what it writes to `table`)."""
    _run("fill_tables", args)


def fill_combos(*args) -> None:
    """leaftables.fill_combos (its arguments, what it adds to `combo`)."""
    _run("fill_combos", args)
