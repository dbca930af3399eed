"""Compile the kernels ahead of time: `python installer/kernels.py [--force]`.

Writes, with numba's pycc from the same sources as the just-in-time kernels, four extension
modules: engine/model/_tree_aot.<ext> (the tree walk, engine/model/tree_walk.py: one function
per pair of threshold and accumulator types, see engine.model.tree_kernel),
engine/explain/_shap_aot.<ext> (TreeSHAP, engine/explain/treeshap.py and leaftables.py: each
entry point per threshold type, see engine.explain.shap_kernel),
engine/backtest/_resample_aot.<ext> (the bootstrap's counts and ROC areas,
engine/backtest/resample_kernels.py) and engine/batch/_records_aot.<ext> (the quoted-CSV
scanner, engine/batch/records_kernels.py; these two described by engine.model.aot.Kernels).
Loading them needs neither numba nor a compiler, so the first prediction, explanation or
back-test is as fast as the second and none loads numba at all (issue 16). `make setup` runs
it (each module skipped while it matches its sources) and so does the installer before
freezing the app. Where one cannot be built (no C compiler, a numba without pycc) it says so
and that kernel stays numba's just-in-time one.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script

import numpy as np  # noqa: E402

from engine.backtest import resample  # noqa: E402
from engine.batch import records  # noqa: E402
from engine.explain import shap_kernel  # noqa: E402
from engine.model import aot, tree_kernel  # noqa: E402

MODEL_DIR = ROOT / "engine" / "model"
EXPLAIN_DIR = ROOT / "engine" / "explain"


def module_path(folder: Path = MODEL_DIR, name: str = tree_kernel.AOT_MODULE) -> Path:
    return folder / (name + sysconfig.get_config_var("EXT_SUFFIX"))


def is_current(folder: Path = MODEL_DIR) -> bool:
    """Whether the built tree module is there and was built from the sources beside it."""
    if not module_path(folder).is_file():
        return False
    tree_kernel._compiled.clear()
    return tree_kernel.aot_module() is not None


def shap_is_current(folder: Path = EXPLAIN_DIR) -> bool:
    """Whether the built explanation module is there and was built from the current sources."""
    if not module_path(folder, shap_kernel.AOT_MODULE).is_file():
        return False
    shap_kernel._compiled.clear()
    return shap_kernel.aot_module() is not None


def kernels_are_current(kernels: aot.Kernels) -> bool:
    """Whether the module of `kernels` is there and was built from its current source."""
    if not module_path(kernels.folder, kernels.name).is_file():
        return False
    kernels.loaded.clear()
    return kernels.aot_module() is not None


def _array(dtype, ndim: int, readonly: bool = False):
    from numba import types
    from numba.np import numpy_support

    return types.Array(numpy_support.from_dtype(np.dtype(dtype)), ndim, "C", readonly=readonly)


def signature(thr: str, acc: str):
    from numba import types

    f64, i64, u32 = np.float64, np.int64, np.uint32
    record, t, a = tree_kernel.node_dtype(thr), np.dtype(thr), np.dtype(acc)
    linear = types.Tuple((_array(i64, 1), _array(i64, 1), _array(f64, 1), _array(f64, 1),
                          types.float64))
    # X is declared read-only: a writable array passes too, and the walk never writes to it.
    return types.void(_array(f64, 2, readonly=True), types.boolean, _array(record, 1),
                      _array(u32, 1), _array(i64, 1), _array(i64, 1), _array(a, 2),
                      _array(a, 2), _array(t, 2), types.float64, types.boolean,
                      _array(u32, 1), types.float64, linear)


def _numba_type(spec, thr: str | None):
    """shap_kernel's SPEC entry -> its numba type (arrays not written are read-only)."""
    from numba import types

    if spec is int:
        return types.int64
    if spec is float:
        return types.float64
    if isinstance(spec[0], tuple):
        return types.Tuple(tuple(_numba_type(s, thr) for s in spec))
    dtype, ndim = spec[0], spec[1]
    if dtype == shap_kernel.NODES:
        dtype = tree_kernel.node_dtype(thr)
    elif dtype == shap_kernel.THR:
        dtype = thr
    return _array(dtype, ndim, readonly=len(spec) > 2 and not spec[2])


def shap_signature(name: str, thr: str | None):
    from numba import types

    result = shap_kernel.RESULTS.get(name)
    ret = types.void if result is None else _numba_type(result, thr)  # new arrays: writable
    return ret(*(_numba_type(s, thr) for s in shap_kernel.SPEC[name]))


def _compile(name: str, folder: Path, stamp: int | None, exports,
             error_model: str = "python") -> Path:
    """Compile `exports` ((name, signature, numba function)) and `source_stamp` into the
    extension module `name` in `folder`, each function releasing the GIL as numba's nogil=True
    does (pycc's default flags keep it; the back-test scores on threads) and with the
    functions' own error_model (pycc's default is "python"), so that it computes what numba's
    build of them does."""
    import numba.pycc.compiler as pycc_compiler
    from numba import types
    from numba.pycc import CC

    if stamp is None:
        raise RuntimeError(f"the sources of {name} are not in this checkout")
    plain_flags = pycc_compiler.Flags

    def releasing_flags():
        flags = plain_flags()
        flags.release_gil = True
        flags.error_model = error_model
        return flags

    cc = CC(name)
    cc.output_dir = str(folder)
    cc.verbose = False
    for export, sig, function in exports:
        cc.export(export, sig)(getattr(function, "py_func", function))
    namespace: dict = {}
    exec(f"def source_stamp():\n    return {stamp}\n", namespace)
    cc.export("source_stamp", types.int64())(namespace["source_stamp"])
    pycc_compiler.Flags = releasing_flags
    try:
        cc.compile()
    finally:
        pycc_compiler.Flags = plain_flags
    return module_path(folder, name)


def build(folder: Path = MODEL_DIR) -> Path:
    """Compile the tree module into `folder` (a minute or so on two cores)."""
    from engine.model import tree_walk

    return _compile(tree_kernel.AOT_MODULE, folder, tree_kernel.source_stamp(),
                    [(tree_kernel.aot_name(thr, acc), signature(thr, acc),
                      tree_walk.accumulate_trees) for thr, acc in tree_kernel.AOT_VARIANTS])


def build_shap(folder: Path = EXPLAIN_DIR) -> Path:
    """Compile the explanation module into `folder` (a minute or two on two cores)."""
    exports = []
    for name, source in shap_kernel.JIT_MODULE.items():
        function = getattr(importlib.import_module(f"engine.explain.{source}"), name)
        exports += [(shap_kernel.aot_name(name, thr), shap_signature(name, thr), function)
                    for thr in shap_kernel.variants(name)]
    return _compile(shap_kernel.AOT_MODULE, folder, shap_kernel.source_stamp(), exports,
                    error_model="numpy")  # treeshap's and leaftables' njit option


def kernels_signature(kernels: aot.Kernels, name: str):
    """The numba signature of `name` from the types in `kernels` (arrays not written are
    read-only; a returned array is new, so writable)."""
    from numba import types

    def numba_type(spec, readonly: bool = False):
        if spec is int:
            return types.int64
        return _array(spec[0], spec[1], readonly=readonly)

    args = [numba_type(s, readonly=s is not int and not s[2]) for s in kernels.spec[name]]
    return numba_type(kernels.results[name])(*args)


def build_kernels(kernels: aot.Kernels) -> Path:
    """Compile the functions of `kernels` into its module (some 10 s on two cores)."""
    source = importlib.import_module(kernels.source)
    return _compile(kernels.name, kernels.folder, kernels.source_stamp(),
                    [(name, kernels_signature(kernels, name), getattr(source, name))
                     for name in kernels.spec])


def _check(owner: str) -> str:
    return (f"from {owner.rsplit('.', 1)[0]} import {owner.rsplit('.', 1)[1]} as m; "
            "raise SystemExit(m.KERNELS.aot_module() is None)")


# (what, whether it is current, its build, who waits for numba without it, the check run in a
# fresh process once built: this one may hold the module that the build replaced)
KERNELS = (
    ("tree kernel", is_current, build, "predictions",
     "from engine.model import tree_kernel as t; raise SystemExit(t.aot_module() is None)"),
    ("explanation kernel", shap_is_current, build_shap, "explanations",
     "from engine.explain import shap_kernel as s; raise SystemExit(s.aot_module() is None)"),
    ("bootstrap kernels", lambda: kernels_are_current(resample.KERNELS),
     lambda: build_kernels(resample.KERNELS), "the first back-test",
     _check("engine.backtest.resample")),
    ("quoted-CSV scanner", lambda: kernels_are_current(records.KERNELS),
     lambda: build_kernels(records.KERNELS), "the first big quoted file",
     _check("engine.batch.records")),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="installer/kernels.py",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if current")
    args = parser.parse_args(argv)
    status = 0
    for what, current, make, users, check in KERNELS:
        if not args.force and current():
            continue
        print(f"Compiling the {what} ahead of time (once; a minute or two)...", flush=True)
        started = time.monotonic()
        try:
            path = make()
        except Exception as exc:  # the just-in-time kernel still works: say so, do not fail
            print(f"warning: the {what} could not be compiled ahead of time ({exc}); "
                  f"{users} will compile it with numba on first use instead.", file=sys.stderr)
            continue
        if subprocess.run([sys.executable, "-c", check], cwd=ROOT).returncode != 0:
            print(f"warning: {path} was built but does not load as current.", file=sys.stderr)
            status = 1
            continue
        print(f"{what}: {path.relative_to(ROOT)} in {time.monotonic() - started:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
