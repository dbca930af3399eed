"""The app's first prediction (issue 16): from pressing Run on the Predict page, with the shipped
2,000-row sample chosen and checked, to the finished run (output written, recorded, results
shown), in a new app process each time whose window is ready; against the bar of 1 s.

Each repeat is a fresh process (offscreen, or the display if one is set) on a workspace opened
once before (the demo model installed), so "first" means the first prediction of that app run:
nothing of the scoring path was loaded before the press. Printed: each repeat and the median.

    .venv/bin/python bench/app_predict.py [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BAR_SECONDS = 1.0

CHILD = r"""
import sys, time
from pathlib import Path
from PySide6.QtWidgets import QApplication
from gui.app import build_app
from gui.pages.predict import State
from gui.tasks.predict import sample_csv

app = build_app(Path(sys.argv[1]), use_tray=False, hooks=False)
window = app.window
window.show()
qt = app.qt

def wait(condition, limit=60.0):
    end = time.perf_counter() + limit
    while not condition():
        if time.perf_counter() > end:
            raise SystemExit("timed out")
        qt.processEvents()
        time.sleep(0.001)

wait(lambda: not list(window.ctx.jobs.running()))  # the pages' first reads
page = window.predict
window.show_page("predict")
page.open_csv(sample_csv())
wait(lambda: page.state == State.READY)
page.output.set_path(Path(sys.argv[2]))  # a new file: nothing to ask before replacing
done = []
page.run_finished.connect(lambda result: done.append(time.perf_counter()))
pressed = time.perf_counter()
page.run()
wait(lambda: bool(done))
print(f"{done[0] - pressed:.4f}")
window.prepare_quit()
window.shutdown()
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/app_predict.py",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATCHET_")}
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    with tempfile.TemporaryDirectory(prefix="ratchet-app-predict-") as scratch:
        workspace = Path(scratch) / "workspace"
        env["RATCHET_CONFIG_DIR"] = str(Path(scratch) / "config")
        subprocess.run([sys.executable, "-c", "import sys; from engine.registry.first_start "
                        "import first_start; from engine.ground.paths import Workspace; "
                        "first_start(Workspace.open(sys.argv[1]))", str(workspace)],
                       cwd=ROOT, env=env, check=True)
        times = []
        for repeat in range(args.repeats):
            output = Path(scratch) / f"predictions-{repeat}.csv"
            done = subprocess.run([sys.executable, "-c", CHILD, str(workspace), str(output)],
                                  cwd=ROOT, env=env, capture_output=True, text=True, check=True,
                                  timeout=300)
            times.append(float(done.stdout.strip().splitlines()[-1]))
            print(f"repeat {repeat + 1}: {times[-1]:.3f} s from Run to the finished run",
                  flush=True)
    median = statistics.median(times)
    print(f"first prediction of the sample in a new app: median {median:.3f} s "
          f"({median / BAR_SECONDS:.2f}x the bar of {BAR_SECONDS:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
