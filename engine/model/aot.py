"""What the kernels compiled ahead of time share (the tree walk, engine/model/_tree_aot; the
TreeSHAP explanation, engine/explain/_shap_aot; both built by installer/kernels.py): the stamp
of the sources a module was built from, loading a module only when it carries the current
stamp, and the check that arguments are of the compiled types (an extension module built by
numba's pycc does not check them: an array of another type or layout would be misread)."""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np


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
