"""The bootstrap's kernels (engine/backtest/_resample_aot) and the quoted-CSV scanner
(engine/batch/_records_aot), compiled ahead of time by installer/kernels.py: built and current,
the same results as numba's build of the same source to the last bit (a back-test of real
flights, the fast bootstrap's fixtures, quoted chunks), numba standing in when a module is
stale or missing or the arguments are not of its types, and a back-test loading no numba."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.backtest import resample
from engine.backtest.run import Contender, run_backtest
from engine.batch import records
from engine.model import load_coefficients
from installer import kernels
from tests.engine.test_backtest import _draws
from tests.engine.test_backtest_demo import demo_contender, flights, write_months  # noqa: F401
from tests.engine.test_records_scan import BYTES

ROOT = Path(__file__).resolve().parents[2]
BOTH = (resample.KERNELS, records.KERNELS)


@pytest.fixture(autouse=True)
def fresh_lookup():
    for k in BOTH:
        k.loaded.pop("aot", None)
    yield
    for k in BOTH:
        k.loaded.pop("aot", None)


class Recording:
    """A compiled module, noting which of its functions are called."""

    def __init__(self, module):
        self.module, self.called = module, set()

    def __getattr__(self, name):
        self.called.add(name)
        return getattr(self.module, name)


def recorded(kernels) -> Recording:
    module = kernels.aot_module()
    assert module is not None
    kernels.loaded["aot"] = Recording(module)
    return kernels.loaded["aot"]


def test_make_setup_built_both_modules_from_these_sources():
    for k in BOTH:
        assert kernels.kernels_are_current(k), (f"{k.module} is missing or stale: run `make "
                                                "setup` (python installer/kernels.py)")


def weaker(champion: Contender) -> Contender:
    """The demo model without its first 30 trees (test_backtest_demo's challenger, unsigned)."""
    doc = json.loads(champion.coefficients)
    doc["estimator"]["trees"] = doc["estimator"]["trees"][30:]
    coefficients = json.dumps(doc).encode()
    return Contender("demo-flight-delay@weaker", load_coefficients(coefficients),
                     champion.requirements, coefficients)


def test_a_back_test_of_real_flights_is_numba_s_to_the_last_bit(flights, tmp_path):  # noqa: F811
    corpus = write_months(flights, tmp_path / "corpus", ["2013-01", "2013-07"], rows=3000)
    champion = demo_contender()
    other = weaker(champion)
    recording = recorded(resample.KERNELS)
    compiled = run_backtest(corpus, "time_hour", "month", champion, [other], bootstrap=60)
    assert recording.called == {"fill_counts", "auc_parts"}
    resample.KERNELS.loaded["aot"] = None  # numba's build of the same source
    jit = run_backtest(corpus, "time_hour", "month", champion, [other], bootstrap=60)
    assert compiled.to_json() == jit.to_json()
    lows = [c.ci_low for c in compiled.comparisons if c.metric == "roc_auc"]
    assert lows and all(low < 0 for low in lows)  # drawn: a weaker model's interval


@pytest.mark.parametrize("draws", [1, 2, 9, 25])
def test_counts_and_areas_are_numba_s_on_the_bootstrap_fixtures(draws):
    rng = np.random.default_rng(11)
    n = 400
    y = rng.integers(0, 2, n)
    score = np.round(rng.gamma(1 + 2 * y), 1)  # many ties, as test_backtest's
    order, positive, group_end = resample._auc_order(y == 1, score)
    counts = _draws(rng, n, draws)
    for layout in (counts, counts[::-1].copy()):
        args = (layout, order, positive, group_end)
        compiled = resample.KERNELS.compiled("auc_parts", args)
        assert compiled is not None
        expected = resample.KERNELS.jit("auc_parts")(*args)
        assert compiled(*args).tobytes() == expected.tobytes()
        one_by_one = np.array([reference_auc_parts(row, order, positive, group_end)
                               for row in layout])
        assert (expected == one_by_one).all()
    raw = resample._halves(np.random.default_rng(3).bit_generator.random_raw(n * draws // 2 + 64))
    for pos, part in ((0, raw), (0, raw[:333]), ((draws - 1) * n + 5, raw[:1001])):
        made = []
        for function in (resample.KERNELS.compiled("fill_counts", (part, n, counts, pos)),
                         resample.KERNELS.jit("fill_counts"), reference_fill_counts):
            out = np.zeros((draws, n), dtype=np.int32)
            made.append((function(part, n, out, pos), out.tobytes()))
        assert made[0] == made[1] == made[2]
    assert made[0][0] == draws * n  # the last part resumed in the last draw and finished it


def reference_fill_counts(halves, n: int, counts, pos: int) -> int:
    """The draws made as the kernel's first version made them, one half at a time."""
    draws = counts.shape[0]
    b, i = divmod(pos, n)
    for r in halves.tolist():
        if b >= draws:
            break
        m = r * n
        if m % (1 << 32) < (1 << 32) % n:
            continue
        counts[b, m >> 32] += 1
        i += 1
        if i == n:
            b, i = b + 1, 0
    return b * n + i


def reference_auc_parts(counts, order, positive, group_end) -> tuple[int, int, int]:
    """One draw walked in Python, as engine.metrics sums the trapezoids."""
    tp = fp = gp = gn = area = 0
    for k, j in enumerate(order):
        w = int(counts[j])
        if positive[k]:
            gp += w
        else:
            gn += w
        if group_end[k]:
            area += gn * (2 * tp + gp)
            tp, fp, gp, gn = tp + gp, fp + gn, 0, 0
    return area, tp, fp


def test_a_stale_or_missing_module_is_not_used(monkeypatch):
    expected = resample.resample_counts(np.random.default_rng(5), 300, 7)
    for patch in (("source_stamp", lambda: 12345), ("module", "engine.backtest._no_such")):
        with monkeypatch.context() as m:
            resample.KERNELS.loaded.pop("aot", None)
            m.setattr(resample.KERNELS, *patch)
            assert resample.KERNELS.aot_module() is None
            again = resample.resample_counts(np.random.default_rng(5), 300, 7)
            assert again.tobytes() == expected.tobytes()  # numba stands in
            assert "fill_counts" in resample.KERNELS.loaded


def test_arguments_of_other_types_go_to_numba():
    rng = np.random.default_rng(2)
    order, positive, group_end = resample._auc_order(rng.random(50) < 0.3,
                                                     rng.integers(0, 9, 50).astype(float))
    counts = _draws(rng, 50, 3)
    recording = recorded(resample.KERNELS)
    for other in (counts.astype(np.int64), np.asfortranarray(counts)):
        args = (other, order, positive, group_end)
        assert resample.KERNELS.compiled("auc_parts", args) is None
        assert (resample._run("auc_parts", *args)
                == resample._run("auc_parts", counts, order, positive, group_end)).all()
    assert recording.called == {"auc_parts"}  # only for the int32, C-ordered counts


def scan_both(data: bytes, delimiter: int) -> tuple:
    buf = np.frombuffer(data, dtype=np.uint8)
    out, probe = [], np.zeros(1, dtype=np.int64)
    for function in (records.KERNELS.compiled("scan_quoted", (buf, delimiter, probe)),
                     records.KERNELS.jit("scan_quoted")):
        ends = np.zeros(data.count(b"\n") + 1, dtype=np.int64)
        found = function(buf, delimiter, ends)
        out.append((found, ends[:max(found, 0)].tolist()))
    return tuple(out)


@settings(max_examples=200)
@given(BYTES, st.sampled_from([ord(","), ord(";"), ord("\t"), 0x2603]))
def test_the_compiled_scan_finds_numba_s_records(data, delimiter):
    compiled, jit = scan_both(data, delimiter)
    assert compiled == jit


def test_a_big_quoted_chunk_is_scanned_as_numba_does(monkeypatch):
    data = b'a,"b\nc""",d\r\n' * 200_000 + b'"x"y,z\n'
    compiled, jit = scan_both(data, ord(","))
    assert compiled == jit and compiled[0] == 200_001
    recording = recorded(records.KERNELS)
    starts = records.record_starts(data, ",", Path("big.csv"))
    assert recording.called == {"scan_quoted"}
    assert starts[1:].tolist() == compiled[1]


BACKTEST_WITHOUT_NUMBA = """
import json, sys
from engine.backtest.run import Contender, run_backtest
from tests.engine.test_backtest_demo import demo_contender
from tests.engine.test_resample_records_aot import weaker
champion = demo_contender()
other = weaker(champion)
result = run_backtest(sys.argv[1], "time_hour", "month", champion, [other], bootstrap=20)
assert result.comparisons
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("numba", "llvmlite")
                        or m.startswith("engine.") and m.endswith("_aot"))))
"""


def test_a_back_test_with_the_compiled_modules_loads_no_numba(flights, tmp_path):  # noqa: F811
    corpus = write_months(flights, tmp_path / "corpus", ["2013-03"], rows=2000)
    done = subprocess.run([sys.executable, "-c", BACKTEST_WITHOUT_NUMBA, str(corpus)],
                          capture_output=True, text=True, cwd=ROOT, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["engine.backtest._resample_aot",
                                       "engine.model._tree_aot"]
