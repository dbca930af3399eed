"""`ratchet regress [--model ID[@VERSION]] [--report FILE.html]`."""

from __future__ import annotations

from pathlib import Path

from engine.errors import InputError


def register(sub) -> None:
    regress = sub.add_parser("regress", help="run a model's regression suite")
    regress.add_argument("--model", metavar="ID[@VERSION]", help="default: the active model")
    regress.add_argument("--report", metavar="FILE.html", help="also write an HTML report")
    regress.set_defaults(handler=cmd_regress)


def cmd_regress(args, ws_root) -> tuple[int, dict]:
    from engine.fileio import write_atomic
    from engine.registry.history import record_regression_run
    from engine.registry.registry import Registry
    from engine.registry.workspace import Workspace
    from engine.regression.report import render
    from engine.regression.suite import run_suite

    report = Path(args.report) if args.report else None
    if report is not None and not report.parent.is_dir():
        raise InputError(f"the report folder {report.parent} does not exist; create it or "
                         "choose another --report path.", "E_OUTPUT_FOLDER")
    registry = Registry(Workspace.open(ws_root))
    try:
        model, label = registry.load_model(args.model)
        members = registry.bundle_members(label)
        result = run_suite(model, label, members["requirements.json"],
                           members["regression_cases.csv"])
        record_regression_run(registry.db, result)
    finally:
        registry.close()
    if report is not None:
        write_atomic(report, render(result, f"Regression suite of {label}").encode("utf-8"))
    doc = result.to_json()
    del doc["cases"]["failures"]
    if report is not None:
        doc["report"] = str(report)
    return (0 if result.passed else 1), doc
