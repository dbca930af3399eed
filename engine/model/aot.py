"""What the kernels compiled ahead of time share (the tree walk, engine/model/_tree_aot; the
TreeSHAP explanation, engine/explain/_shap_aot; both built by installer/kernels.py): the stamp
of the sources a module was built from, loading a module only when it carries the current
stamp, and the check that arguments are of the compiled types (an extension module built by
numba's pycc does not check them: an array of another type or layout would be misread). The
smaller kernels (the bootstrap's, engine/backtest/_resample_aot; the quoted-CSV scan,
engine/batch/_records_aot) are each described by a Kernels: the module, its source, the
types, and the dispatch to numba where the module cannot serve."""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

_ROOT = Path(__file__).resolve().parents[2]  # the folder holding engine/

def source_stamp(sources: Iterable[Path], salt: str) -> int | None:
    """The hash of `salt` and the sources as a positive int64 (None: a source is missing, as
    in a frozen app, which ships no sources and trusts the module built with it)."""
    digest = hashlib.sha256(salt.encode())
    for path in sources:
        try:
            digest.update(path.read_bytes())
        except OSError:
            return None
    return int(digest.hexdigest()[:15], 16)


def current_module(name: str, stamp: int | None):
    """The extension module `name` when it imports and was built from the sources whose
    stamp is `stamp` (None: no sources to compare with), else None."""
    try:
        module = importlib.import_module(name)
    except ImportError:
        return None
    if stamp is not None and module.source_stamp() != stamp:
        return None
    return module


def array_fits(a, dtype, ndim: int, writable: bool = False) -> bool:
    """`a` is a C-contiguous, aligned ndarray of exactly this dtype and ndim (and writable
    when the kernel writes to it)."""
    return (isinstance(a, np.ndarray) and a.dtype == dtype and a.ndim == ndim
            and a.flags.c_contiguous and a.flags.aligned and (a.flags.writeable or not writable))


def fits(spec, value) -> bool:
    """`value` is of the compiled type `spec`: int (an integer, not a bool) or an array's
    (dtype, ndim, written)."""
    if spec is int:
        return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    return array_fits(value, spec[0], spec[1], spec[2])


class Kernels:
    """The numba functions of one plain source module (`source`, e.g. engine.backtest.
    resample_kernels) compiled ahead of time into the extension module `module` beside it
    (built by installer/kernels.py), each for the argument types in `spec` (name -> int or an
    array's (dtype, ndim, written)) and returning `results[name]` (int or (dtype, ndim)).
    `function(name, args)` is the compiled function when the module is current and the
    arguments fit, else numba's just-in-time build of the same source with the same options
    (nogil, cached in __pycache__), numba being imported only then."""

    def __init__(self, module: str, source: str, spec: dict, results: dict, build: int = 1):
        self.module, self.source, self.spec, self.results = module, source, spec, results
        self.build = build
        self.loaded: dict = {}  # "aot": the module or None; name: numba's build

    @property
    def folder(self) -> Path:
        return _ROOT.joinpath(*self.module.split(".")[:-1])

    @property
    def name(self) -> str:
        return self.module.rsplit(".", 1)[1]

    def source_stamp(self) -> int | None:
        """The hash of the source module and of the compiled types (None: no source here)."""
        path = _ROOT.joinpath(*self.source.split(".")).with_suffix(".py")
        salt = f"build {self.build}\n{self.spec!r}\n{self.results!r}\n"
        return source_stamp([path], salt)

    def aot_module(self):
        if "aot" not in self.loaded:
            self.loaded["aot"] = current_module(self.module, self.source_stamp())
        return self.loaded["aot"]

    def compiled(self, name: str, args: tuple):
        """The function compiled ahead of time for these arguments, or None."""
        module = self.aot_module()
        spec = self.spec[name]
        if module is None or len(args) != len(spec) \
                or not all(fits(s, a) for s, a in zip(spec, args, strict=True)):
            return None
        return getattr(module, name)

    def jit(self, name: str):
        """numba's build of the source function (numba imported and the function compiled, or
        loaded from numba's cache, at the first call)."""
        if name not in self.loaded:
            import numba

            function = getattr(importlib.import_module(self.source), name)
            self.loaded[name] = numba.njit(nogil=True, cache=True)(function)
        return self.loaded[name]

    def function(self, name: str, args: tuple):
        return self.compiled(name, args) or self.jit(name)
