"""expf's table of 2^(i/32) is computed on its first use, not when a model is loaded (most
models never call expf; issue 16's start-up of `ratchet predict`), and is the same table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from engine.model.expf import N, _table, expf

ROOT = Path(__file__).resolve().parents[2]


def test_the_table_is_built_on_first_use_only():
    code = ("import glob, json, zipfile\nfrom engine.model import load_coefficients\n"
            "from engine.model import expf\n"
            "bundle = sorted(glob.glob('coefficients/demo-flight-delay-*.ratchet'))[-1]\n"
            "load_coefficients(zipfile.ZipFile(bundle).read('coefficients.json'))\n"
            "print(json.dumps(expf._table.cache_info().currsize))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "0"


def test_the_table_and_expf():
    table = _table()
    assert table is _table() and not table.flags.writeable
    # Entry i: the bits of 2^(i/32) minus i << 47; 2^0 = 1.0 exactly.
    assert table[0] == np.float64(1.0).view(np.uint64)
    doubles = (table + (np.arange(N, dtype=np.uint64) << np.uint64(47))).view(np.float64)
    assert np.allclose(doubles, 2.0 ** (np.arange(N) / N), rtol=1e-15, atol=0)
    assert expf(np.float32([0.0]))[0] == np.float32(1.0)
    assert expf(np.float32([np.inf, -np.inf, np.nan, 100.0, -200.0])).tolist()[:2] == [
        np.inf, 0.0]
