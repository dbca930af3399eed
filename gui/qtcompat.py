"""A guard against a reference-counting bug of PySide6 6.12.0 on Python 3.11.

There, every PySide6 call that returns nothing (``label.setText(...)``, ``obj.setVisible(...)``,
...) drops one reference to ``None``, and ``Signal.emit()`` drops one to ``True``: they hand
back the singleton without taking a reference. After some thousands of calls the count reaches
zero and Python aborts with "Fatal Python error: none_dealloc: deallocating None" (or
"bool_dealloc"): the app dies a few seconds into real use. Python 3.12 made these singletons
immortal (PEP 683), which is why the bug hides there; PySide6 6.11.3 does not have it.

:func:`guard` (run when this module is imported, before any window exists) measures whether
the running PySide6 leaks, and only then, only on Python < 3.12, does what 3.12 does: it
raises the reference counts of ``None``, ``True`` and ``False`` so far that no leak can bring
them to zero. They are statically allocated and never freed, so nothing else changes. The real
fix is a PySide6 without the bug; then this measures no leak and does nothing.
"""

from __future__ import annotations

import logging
import sys

import PySide6
from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)

PYSIDE_VERSION = PySide6.__version__
_PROBES = 16
_BOOST = 1 << 40  # a leak per microsecond would need twelve days to use this up


class _Probe(QObject):
    ping = Signal()


def _leaks() -> dict[str, int]:
    """References lost per kind of call, measured on a throwaway object."""
    probe = _Probe()
    before = sys.getrefcount(None)
    for _ in range(_PROBES):
        probe.setObjectName("probe")
    none_lost = before - sys.getrefcount(None)
    before = sys.getrefcount(True)
    held = [probe.ping.emit() for _ in range(_PROBES)]  # each should add one reference
    true_lost = before + len(held) - sys.getrefcount(True)
    return {"None": none_lost, "True": true_lost}


def _raise_refcount(obj: object) -> None:
    import ctypes  # only where the leak was measured: not on every start

    # ob_refcnt is the first field of every object in a release build of CPython < 3.12.
    ctypes.c_ssize_t.from_address(id(obj)).value += _BOOST


def guard() -> bool:
    """Make the singletons immortal if this PySide6 leaks them; True when it did."""
    if sys.version_info >= (3, 12) or hasattr(sys, "gettotalrefcount"):  # immortal / debug
        return False
    lost = _leaks()
    if max(lost.values()) < _PROBES // 2:
        return False
    for singleton in (None, True, False):
        _raise_refcount(singleton)
    log.info("this PySide6 drops references to None/True (lost per %d calls: %s); "
                "protected them as Python 3.12 does. Use PySide6 6.11.3 to avoid it.",
                _PROBES, lost)
    return True


IMMORTALIZED = guard()
