"""Regress: run a model's regression suite (the bundle's cases with this workstation's pinned
outliers, judged by the effective, ratcheted requirements), record the run, write its report;
and pin a row seen in operations as an outlier case of the next runs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from engine.formats.report_pdf import write_report_file
from engine.formats.requirements import Requirement
from engine.progress import CancelToken, Progress, no_progress
from engine.registry.refs import parse_ref
from engine.regression.outliers import list_pinned, pin_row, pinned_csv
from engine.regression.ratchet import effective_requirements
from engine.regression.report import render
from engine.regression.store import record_regression_run
from engine.regression.suite import SuiteResult, run_suite

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Suite:
    """A suite run, not yet recorded."""

    result: SuiteResult
    requirements: list[Requirement]  # the effective requirements it was judged by
    pinned: int  # how many of result.cases are the pinned outliers (the last ones)


@dataclass(frozen=True, slots=True)
class Regressed:
    """A suite run, recorded in the workspace history."""

    result: SuiteResult
    run_id: int
    pinned: int
    report: Path | None = None


def run_model_suite(registry, model_ref: str | None = None, *,
                    progress: Progress = no_progress,
                    cancel: CancelToken | None = None) -> Suite:
    """The suite of ``model_ref`` (None: the active model): the bundle's cases, the pinned
    outliers of its model id, the effective requirements."""
    model, label = registry.load_model(model_ref)
    members = registry.bundle_members(label)
    model_id, version = parse_ref(label)
    pinned = pinned_csv(registry.db, model_id, model, version)
    requirements = effective_requirements(registry.db, model_id, members["requirements.json"])
    result = run_suite(model, label, members["requirements.json"],
                       members["regression_cases.csv"], progress=progress, cancel=cancel,
                       pinned=pinned, requirements_override=requirements)
    count = len(list_pinned(registry.db, model_id)) if pinned else 0
    return Suite(result, requirements, count)


def regress(registry, model_ref: str | None = None, *, report: Path | None = None,
            progress: Progress = no_progress, cancel: CancelToken | None = None) -> Regressed:
    """Run the suite, record the run, and write its HTML report when ``report`` is given."""
    suite = run_model_suite(registry, model_ref, progress=progress, cancel=cancel)
    run_id = record_regression_run(registry.db, suite.result)
    if report is not None:
        write_report(suite.result, report, registry.ws.root)
    return Regressed(suite.result, run_id, suite.pinned, report)


def case_whys(result: SuiteResult, workspace: Path | None) -> dict[int, object]:
    """Each case's explanation (engine.services.explain) by the version that ran the suite,
    for the report; none when the workspace is not given or the model cannot explain."""
    from engine.errors import EngineError
    from engine.registry.registry import Registry
    from engine.services.explain import explain_row

    if workspace is None:
        return {}
    try:
        with Registry.open(workspace) as registry:
            model, label = registry.load_model(result.model)[:2]
        return {i: explain_row(model, label, case.inputs)
                for i, case in enumerate(result.cases) if case.inputs}
    except EngineError as exc:  # e.g. no covers in an older bundle: the report says so
        log.info("no explanations in the regression report: %s", exc)
        return {}


def write_report(result: SuiteResult, path: Path, workspace: Path | None = None) -> Path:
    """The run's self-contained HTML report, written atomically; stamped with the run's date,
    the app's version and the bundle's hash (read from ``workspace``)."""
    from engine.formats.report_stamp import stamped

    page = render(result, f"Regression suite of {result.model}",
                  case_whys(result, workspace))
    write_report_file(stamped(page, [result.model], workspace), Path(path))
    return Path(path)


def pin_outlier(registry, model_ref: str | None, inputs: dict[str, str], note: str,
                source: str) -> tuple[int, str]:
    """Pin one row (every column of the operator's file) as an outlier case of the model,
    under its version; (pinned id, label)."""
    model, label = registry.load_model(model_ref)
    model_id, version = parse_ref(label)
    return pin_row(registry.db, model_id, inputs, note, source, model, version), label
