"""Everyday commands import only what their work needs (issue 16): `ratchet predict` with no trial
running loads no scipy, no numba (its tree kernel is compiled ahead of time), no pandas, no
trial comparison and no now-test code; `ratchet models list` loads no numba, pandas or scipy;
`ratchet regress` no pandas or scipy, nor numba when its report explains every case; a now-test
of more than 1,000 rows (whose drift statistics are effect sizes, not p-values) no scipy and no
pandas. Each command runs through the real command line in a fresh child process, which then
reports the modules it loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.engine.workspace_kit import SAMPLE

CHILD = """
import json, sys
from engine.cli import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as fh:
    json.dump({"code": code, "modules": sorted(sys.modules)}, fh)
"""


def loaded_by(tmp_path: Path, *args: str, ok: tuple[int, ...] = (0,)) -> set[str]:
    report = tmp_path / "modules.json"
    run = subprocess.run([sys.executable, "-c", CHILD, str(report), *args],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    doc = json.loads(report.read_text())
    assert doc["code"] in ok, run.stdout + run.stderr
    return set(doc["modules"])


def under(modules: set[str], *packages: str) -> list[str]:
    return sorted(m for m in modules if m in packages or m.startswith(tuple(
        p + "." for p in packages)))


def test_predict_without_a_trial_loads_no_statistics_and_no_trial_machinery(demo_root,
                                                                             tmp_path):
    modules = loaded_by(tmp_path, "--workspace", str(demo_root), "predict", str(SAMPLE), "-o",
                        str(tmp_path / "out.csv"))
    assert "engine.batch.score" in modules  # it did predict
    # No scipy at all, and no numba: the tree kernel was compiled ahead of time (make setup).
    assert under(modules, "scipy", "sklearn", "numba", "llvmlite") == []
    assert "engine.model._tree_aot" in modules
    # No pandas: pyarrow imports it on pa.array / to_numpy(zero_copy_only=False), which the
    # predict path does not call (engine/model/arrow_arrays.py); the sample has blank cells and
    # the demo model categories, so the markers and the category lookup ran.
    assert under(modules, "pandas") == []
    assert under(modules, "numpy.ma") == []  # np.unique's first call imports it (~10 ms)
    # pyarrow.compute builds ~290 wrappers on import (~25 ms): engine/model/arrow_compute.py
    # calls the kernels without it.
    assert under(modules, "pyarrow.compute") == []
    # Loading an installed model checks its bytes' sha256; signatures are checked at import,
    # so their code (and cryptography) stays unloaded.
    assert under(modules, "cryptography", "engine.bundle.verify", "engine.bundle.signing",
                 "engine.bundle.trust") == []
    assert under(modules, "engine.nowtest", "engine.backtest", "engine.regression") == []
    # Asking whether a trial runs is all: its comparison and gate stay unloaded.
    assert under(modules, "engine.trial") == ["engine.trial", "engine.trial.shadow",
                                              "engine.trial.store"]


def test_a_nowtest_without_segments_loads_no_back_test_code(demo_root, tmp_path):
    modules = loaded_by(tmp_path, "--workspace", str(demo_root), "nowtest", str(SAMPLE),
                        ok=(0, 1))  # 1: the July sample drifts (an alarm), as it should
    assert "engine.nowtest.run" in modules  # it did now-test
    # 2,000 rows: Wasserstein and Jensen-Shannon distances (engine/nowtest/distances.py), the
    # reference cases read with the csv module (engine/formats/text_table.py), text values
    # counted without pandas below 200,000 rows (engine/nowtest/tally.py).
    assert under(modules, "scipy", "pandas", "numba", "llvmlite", "sklearn") == []
    # The segment tables (engine.backtest.segments and the evaluation code behind them) only
    # when segments are asked for or required.
    assert under(modules, "engine.backtest") == []


def test_regress_loads_no_pandas_nor_scipy(demo_root, tmp_path):
    modules = loaded_by(tmp_path, "--workspace", str(demo_root), "regress")
    assert "engine.regression.suite" in modules  # it did run the suite
    assert under(modules, "scipy", "pandas", "numba", "llvmlite", "sklearn") == []


def test_a_regression_report_explains_its_cases_without_numba(demo_root, tmp_path):
    """The report explains every case: with TreeSHAP compiled ahead of time (make setup), that
    compiles nothing and starts no numba."""
    modules = loaded_by(tmp_path, "--workspace", str(demo_root), "regress", "--report",
                        str(tmp_path / "report.html"))
    assert "engine.explain.trees" in modules  # it did explain the demo model's trees
    assert "engine.explain._shap_aot" in modules
    assert under(modules, "numba", "llvmlite") == []


def test_models_list_loads_no_numba_pandas_or_scipy(demo_root, tmp_path):
    modules = loaded_by(tmp_path, "--workspace", str(demo_root), "models", "list")
    assert under(modules, "numba", "llvmlite", "pandas", "scipy", "sklearn") == []


def test_importing_the_now_test_back_test_and_trial_gate_loads_no_statistics_nor_numba():
    """The app's pages import these at start; scipy comes when a statistic is computed, numba
    when a back-test draws its bootstrap."""
    code = ("import json, sys\nimport engine.nowtest.run, engine.trial.trial, "
            "engine.backtest.run, engine.services.nowtest, engine.services.trial, "
            "engine.services.backtest\n"
            "print(json.dumps(sorted(sys.modules)))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert under(set(json.loads(run.stdout)), "scipy.stats", "scipy.optimize", "sklearn",
                 "numba", "llvmlite") == []
