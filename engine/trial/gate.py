"""The promotion gate: a candidate bundle is tested critically and given every chance to slip
up before it may go on trial. Verdict accept only when

- its regression suite passes (its own cases, this workstation's pinned outliers of the same
  model id, and its requirements on its labelled reference sample);
- in the back-test on the corpus it meets its minimum requirements in every partition;
- it beats the champion on the primary metric overall: the 95% bootstrap interval of the
  difference excludes zero, or, when a margin is declared, the difference is at least the
  margin;
- no partition is worse than the champion's by more than the tolerance;
- on the latest data (when given) its now-test raises no metric alarm.

The candidate is held to the stricter of its own requirements and the champion's
(engine.trial.candidate). Every check runs, so the reasons say everything that is wrong. The
bundle is verified, never installed; the run is stored in the history with its HTML report.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

from engine.backtest.corpus import Needed, check_file, corpus_files
from engine.backtest.evaluate import Contender
from engine.backtest.partitions import check_period, check_timezone
from engine.backtest.run import run_backtest
from engine.batch.csv_input import check_columns, open_csv
from engine.errors import InputError
from engine.formats.report_pdf import write_report_file
from engine.ground.clock import now_text
from engine.ground.fileio import check_report_path
from engine.nowtest.run import run_nowtest
from engine.progress import CancelToken, Progress, no_progress
from engine.regression.outliers import pinned_csv
from engine.regression.ratchet import effective_requirements
from engine.regression.suite import run_suite
from engine.trial import gate_checks as checks
from engine.trial.candidate import (
    Candidate,
    candidate_requirements,
    champion_of,
    load_candidate,
)
from engine.trial.gate_result import ACCEPT, REJECT, GateResult
from engine.trial.store import record_gate

TOLERANCE = 0.01  # the most a partition may be worse than the champion's on the primary metric
BOOTSTRAP = 200


def _scaled(progress: Progress, start: float, end: float) -> Progress:
    return lambda f, message: progress(start + (end - start) * f, message)


def _check_number(value: float | None, option: str) -> None:
    if value is not None and (not math.isfinite(value) or value < 0):
        raise InputError(f"{option} must be a number of zero or more, not {value!r}.",
                         "E_USAGE")


def check_gate_inputs(candidate: Candidate, champion: Contender, corpus, time_column: str,
                      by: str, latest, margin: float | None, tolerance: float,
                      report: Path | None, timezone: str | None = None) -> None:
    """Everything that would make the gate fail on its input, found before any work."""
    check_period(by)
    check_timezone(timezone)
    _check_number(margin, "--margin")
    _check_number(tolerance, "--tolerance")
    check_report_path(report, "gate.html")
    features = tuple(dict.fromkeys([*champion.model.feature_names,
                                    *candidate.model.feature_names]))
    needed = Needed(features, champion.model.target, time_column)
    for f in corpus_files(corpus):
        check_file(f, needed, candidate.label)
    if latest is not None:
        check_columns(open_csv(Path(latest)), candidate.model.feature_names)


def default_report(registry, candidate: str) -> Path:
    stamp = re.sub(r"[^0-9T]", "", now_text())[:15]
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"gate-{stamp}-{candidate}")
    return registry.ws.reports_dir / f"{name}.html"


def _requirement_lines(registry, candidate: Candidate, reqs) -> list[dict]:
    own = {(r.metric, r.applies): r.bound for r in effective_requirements(
        registry.db, candidate.model_id, candidate.members["requirements.json"])}
    return [{"metric": r.metric, "bound_name": r.bound_name, "bound": r.bound,
             "applies": r.applies,
             "from": "candidate" if own.get((r.metric, r.applies)) == r.bound else "champion"}
            for r in reqs]


def run_gate(registry, candidate: str | Path, corpus: str | Path, time_column: str,
             by: str = "month", latest: str | Path | None = None, margin: float | None = None,
             tolerance: float = TOLERANCE, progress: Progress = no_progress,
             cancel: CancelToken | None = None, report: Path | None = None,
             n_jobs: int = 2, bootstrap: int = BOOTSTRAP,
             timezone: str | None = None) -> GateResult:
    """Gate `candidate` (a bundle file, verified but not installed, or an installed ID@V)
    against the active version of its model id. Writes the HTML report (`report`, default the
    workspace's reports folder) and stores the run; raises InputError / BundleRejected for bad
    input with nothing recorded. `timezone`: the back-test's partitions in this IANA zone
    (engine.backtest.partitions)."""
    return gate_candidate(registry, load_candidate(registry, candidate), corpus, time_column,
                          by, latest, margin, tolerance, progress, cancel, report, n_jobs,
                          bootstrap, timezone)


def stamped_report(result: GateResult, workspace: Path | None) -> str:
    """The gate's HTML report with its stamp (date, app version, both bundles' hashes)."""
    from engine.formats.report_stamp import stamped
    from engine.trial.gate_report import render

    return stamped(render(result), [result.champion, result.candidate], workspace,
                   {result.candidate: result.bundle_sha256})


def gate_candidate(registry, candidate: Candidate, corpus, time_column: str, by: str = "month",
                   latest=None, margin: float | None = None, tolerance: float = TOLERANCE,
                   progress: Progress = no_progress, cancel: CancelToken | None = None,
                   report: Path | None = None, n_jobs: int = 2,
                   bootstrap: int = BOOTSTRAP, timezone: str | None = None) -> GateResult:
    """`run_gate` for a candidate already loaded (a trial gates and installs the same bytes)."""

    champion = champion_of(registry, candidate)
    report = Path(report) if report is not None else None
    check_gate_inputs(candidate, champion, corpus, time_column, by, latest, margin, tolerance,
                      report, timezone)
    reqs = candidate_requirements(registry, candidate, champion)
    members = candidate.members
    suite = run_suite(candidate.model, candidate.label, members["requirements.json"],
                      members["regression_cases.csv"], _scaled(progress, 0.0, 0.1), cancel,
                      pinned=pinned_csv(registry.db, candidate.model_id, candidate.model,
                                        candidate.version),
                      requirements_override=reqs)
    contender = Contender(candidate.label, candidate.model, reqs, members["coefficients.json"])
    bt = run_backtest(corpus, time_column, by, champion, [contender],
                      _scaled(progress, 0.1, 0.9 if latest else 1.0), cancel, n_jobs,
                      bootstrap, timezone=timezone)
    nt = None
    if latest is not None:
        nt = run_nowtest(Path(latest), candidate.model, candidate.label, members, reqs,
                         _scaled(progress, 0.9, 1.0), cancel)
    found = [checks.suite_check(suite), checks.minimums_check(bt, candidate.label),
             checks.beats_check(bt, candidate.label, margin),
             checks.tolerance_check(bt, candidate.label, tolerance)]
    if nt is not None:
        found.append(checks.nowtest_check(nt, candidate.label))
    accepted = all(c.passed for c in found)
    reasons = [c.detail for c in found if accepted or not c.passed]
    path = report or default_report(registry, candidate.label)
    result = GateResult(
        candidate.label, champion.label, candidate.bundle_sha256, ACCEPT if accepted else REJECT,
        reasons, found, bt.metric, margin, tolerance,
        _requirement_lines(registry, candidate, reqs), str(Path(corpus).resolve()), time_column,
        by, None if latest is None else str(Path(latest).resolve()), suite, bt, nt, now_text(),
        report=str(path), champion_misses=[] if accepted else checks.champion_misses(
            bt, candidate.label))
    write_report_file(stamped_report(result, registry.ws.root), path)
    gate_id = record_gate(registry.db, result)
    progress(1.0, f"Gate verdict: {result.verdict}")
    return replace(result, id=gate_id)
