"""Compile the tree kernel ahead of time: `python installer/kernels.py [--force]`.

Writes engine/model/_tree_aot.<ext> (an extension module, one function per pair of threshold
and accumulator types, see engine.model.tree_kernel) with numba's pycc from the same source as
the just-in-time kernel (engine/model/tree_walk.py). Loading it needs neither numba nor a
compiler, so the first prediction is as fast as the second and none loads numba at all
(issue 16). `make setup` runs it (skipped while the module matches its sources) and so does the
installer before freezing the app. Where it cannot be built (no C compiler, a numba without
pycc) it says so and the kernel stays numba's just-in-time one.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script

from engine.model import tree_kernel  # noqa: E402

MODEL_DIR = ROOT / "engine" / "model"


def module_path(folder: Path = MODEL_DIR) -> Path:
    return folder / (tree_kernel.AOT_MODULE + sysconfig.get_config_var("EXT_SUFFIX"))


def is_current(folder: Path = MODEL_DIR) -> bool:
    """Whether the built module is there and was built from the sources beside it."""
    if not module_path(folder).is_file():
        return False
    tree_kernel._compiled.clear()
    return tree_kernel.aot_module() is not None


def signature(thr: str, acc: str):
    from numba import types
    from numba.np import numpy_support

    def arr(dtype, ndim, readonly=False):
        return types.Array(dtype, ndim, "C", readonly=readonly)

    f64, i64, u32 = types.float64, types.int64, types.uint32
    record = numpy_support.from_dtype(tree_kernel.node_dtype(thr))
    t, a = getattr(types, thr), getattr(types, acc)
    linear = types.Tuple((arr(i64, 1), arr(i64, 1), arr(f64, 1), arr(f64, 1), f64))
    # X is declared read-only: a writable array passes too, and the walk never writes to it.
    return types.void(arr(f64, 2, readonly=True), types.boolean, arr(record, 1), arr(u32, 1),
                      arr(i64, 1), arr(i64, 1), arr(a, 2), arr(a, 2), arr(t, 2), f64,
                      types.boolean, arr(u32, 1), f64, linear)


def build(folder: Path = MODEL_DIR) -> Path:
    """Compile the module into `folder` (a minute or so on two cores)."""
    import numba.pycc.compiler as pycc_compiler
    from numba import types
    from numba.pycc import CC

    from engine.model import tree_walk

    # pycc compiles with default flags, which keep the GIL during a call; the back-test scores
    # on threads, as the JIT kernel (nogil=True) lets it, so the compiled one releases it too.
    plain_flags = pycc_compiler.Flags

    def releasing_flags():
        flags = plain_flags()
        flags.release_gil = True
        return flags

    stamp = tree_kernel.source_stamp()
    if stamp is None:
        raise RuntimeError(f"the kernel's sources are not in {MODEL_DIR}")
    cc = CC(tree_kernel.AOT_MODULE)
    cc.output_dir = str(folder)
    cc.verbose = False
    for thr, acc in tree_kernel.AOT_VARIANTS:
        cc.export(tree_kernel.aot_name(thr, acc), signature(thr, acc))(
            tree_walk.accumulate_trees.py_func)
    namespace: dict = {}
    exec(f"def source_stamp():\n    return {stamp}\n", namespace)
    cc.export("source_stamp", types.int64())(namespace["source_stamp"])
    pycc_compiler.Flags = releasing_flags
    try:
        cc.compile()
    finally:
        pycc_compiler.Flags = plain_flags
    return module_path(folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="installer/kernels.py",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if current")
    args = parser.parse_args(argv)
    if not args.force and is_current():
        return 0
    print("Compiling the tree kernel ahead of time (once; about a minute)...", flush=True)
    started = time.monotonic()
    try:
        path = build()
    except Exception as exc:  # the just-in-time kernel still works: say so, do not fail
        print(f"warning: the tree kernel could not be compiled ahead of time ({exc}); "
              "predictions will compile it with numba on first use instead.", file=sys.stderr)
        return 0
    # Checked in a fresh process: this one may hold the module it replaced.
    check = subprocess.run([sys.executable, "-c", "from engine.model import tree_kernel as t; "
                            "raise SystemExit(t.aot_module() is None)"], cwd=ROOT)
    if check.returncode != 0:
        print(f"warning: {path} was built but does not load as current.", file=sys.stderr)
        return 1
    print(f"tree kernel: {path.relative_to(ROOT)} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
