"""Helpers shared by the benchmarks: best-of timing and the environment they ran in."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """The fastest of `repeat` wall-clock timings of fn(), in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            first_cpu = f.read().split("\n\n")[0].splitlines()
        info = dict(line.split(":", 1) for line in first_cpu if ":" in line)
        info = {k.strip(): v.strip() for k, v in info.items()}
        name = info.get("model name", "")
        if "cpu family" in info:
            name += f" (family {info['cpu family']}, model {info.get('model', '?')})"
        return name or platform.processor()
    except OSError:
        return platform.processor() or platform.machine()


def environment_lines() -> list[str]:
    import numba
    import numpy
    import sklearn

    try:
        import llvmlite.binding as llvm

        host = f", llvm target {llvm.get_host_cpu_name()}"
    except Exception:  # informational only
        host = ""
    return [
        f"python {platform.python_version()}, numpy {numpy.__version__}, numba {numba.__version__}"
        f", scikit-learn {sklearn.__version__}",
        f"cpu: {cpu_model()}{host}, {os.cpu_count()} logical cores; measured on 1 thread",
    ]
