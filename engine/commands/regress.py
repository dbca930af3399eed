"""`ratchet regress [--model ID[@VERSION]] [--report FILE.html]`."""

from __future__ import annotations

from pathlib import Path

from engine.commands import open_registry
from engine.errors import InputError
from engine.registry.refs import parse_ref


def register(sub) -> None:
    regress = sub.add_parser("regress", help="run a model's regression suite")
    regress.add_argument("--model", metavar="ID[@VERSION]", help="default: the active model")
    regress.add_argument("--report", metavar="FILE.html", help="also write an HTML report")
    regress.set_defaults(handler=cmd_regress)


def cmd_regress(args, ws_root) -> tuple[int, dict]:
    from engine.ground.fileio import check_report_path, write_atomic
    from engine.regression.outliers import pinned_csv
    from engine.regression.ratchet import effective_requirements
    from engine.regression.report import render
    from engine.regression.store import record_regression_run
    from engine.regression.suite import run_suite

    report = Path(args.report) if args.report else None
    check_report_path(report, "regression.html")
    registry = open_registry(ws_root)
    try:
        model, label = registry.load_model(args.model)
        members = registry.bundle_members(label)
        model_id = parse_ref(label)[0]
        result = run_suite(model, label, members["requirements.json"],
                           members["regression_cases.csv"],
                           pinned=pinned_csv(registry.db, model_id, model),
                           requirements_override=effective_requirements(
                               registry.db, model_id, members["requirements.json"]))
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


def register_admin(sub) -> None:
    """`ratchet outliers ...` and `ratchet requirements ...`."""
    outliers = sub.add_parser("outliers", help="outliers pinned from operations").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    pin = outliers.add_parser("pin", help="pin a row of a CSV as an outlier case")
    pin.add_argument("input", metavar="INPUT.csv")
    pin.add_argument("--row", type=int, required=True, metavar="N", help="data row, from 1")
    pin.add_argument("--note", required=True)
    pin.add_argument("--model", metavar="ID[@VERSION]")
    pin.set_defaults(handler=cmd_pin)
    lst = outliers.add_parser("list", help="the pinned outliers of a model")
    lst.add_argument("--model", metavar="ID[@VERSION]")
    lst.set_defaults(handler=cmd_list_pinned)
    exp = outliers.add_parser("export", help="write them as regression cases for a publisher")
    exp.add_argument("--model", metavar="ID[@VERSION]")
    exp.add_argument("-o", "--output", required=True, metavar="FILE.csv")
    exp.set_defaults(handler=cmd_export_pinned)

    reqs = sub.add_parser("requirements", help="performance requirements").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    show = reqs.add_parser("show", help="the effective requirements and their history")
    show.add_argument("--model", metavar="ID[@VERSION]")
    show.set_defaults(handler=cmd_requirements_show)
    ratchet = reqs.add_parser("ratchet", help="run the suite, propose higher bounds, apply them")
    ratchet.add_argument("--model", metavar="ID[@VERSION]")
    ratchet.add_argument("--why", required=True, help="recorded with the step")
    ratchet.add_argument("--dry-run", action="store_true", help="only show the proposal")
    ratchet.set_defaults(handler=cmd_requirements_ratchet)
    setter = reqs.add_parser("set", help="set one bound by hand (lowering needs --override)")
    setter.add_argument("metric")
    setter.add_argument("value", type=float)
    setter.add_argument("--why", required=True, help="recorded with the step")
    setter.add_argument("--override", action="store_true",
                        help="allow lowering the requirement (recorded as an override)")
    setter.add_argument("--model", metavar="ID[@VERSION]")
    setter.set_defaults(handler=cmd_requirements_set)




def _read_row(path: Path, number: int) -> dict[str, str]:
    import csv

    from engine.batch.csv_input import open_csv

    source = open_csv(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, delimiter=source.delimiter)
            header = next(reader)
            for i, cells in enumerate(reader, start=1):
                if i == number:
                    return dict(zip(header, cells, strict=False))
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text (the encoding tried); re-save it as UTF-8.",
                         "E_ENCODING") from None
    except csv.Error as exc:
        raise InputError(f"{path} cannot be read as CSV ({exc}).", "E_NOT_CSV") from None
    raise InputError(f"{path} has no data row {number}.", "E_NO_ROW")


def cmd_pin(args, ws_root) -> tuple[int, dict]:
    from engine.regression.outliers import pin_row

    row = _read_row(Path(args.input), args.row)
    reg = open_registry(ws_root)
    try:
        model, label = reg.load_model(args.model)
        pin_id = pin_row(reg.db, parse_ref(label)[0], row, args.note,
                         f"{Path(args.input).name} row {args.row}", model)
    finally:
        reg.close()
    return 0, {"model": label, "pinned": pin_id}


def cmd_list_pinned(args, ws_root) -> tuple[int, dict]:
    from engine.regression.outliers import list_pinned

    reg = open_registry(ws_root)
    try:
        _, label = reg.load_model(args.model)
        pinned = list_pinned(reg.db, parse_ref(label)[0])
    finally:
        reg.close()
    return 0, {"model": label, "pinned": [{k: v for k, v in p.items() if k != "inputs"}
                                          for p in pinned]}


def cmd_export_pinned(args, ws_root) -> tuple[int, dict]:
    from engine.ground.fileio import check_output_path, write_atomic
    from engine.regression.outliers import pinned_csv

    out = Path(args.output)
    check_output_path(out, "output", "outliers.csv")
    reg = open_registry(ws_root)
    try:
        model, label = reg.load_model(args.model)
        data = pinned_csv(reg.db, parse_ref(label)[0], model)
    finally:
        reg.close()
    if data is None:
        raise InputError(f"{label} has no pinned outliers to export.", "E_NOTHING_PINNED")
    write_atomic(out, data)
    return 0, {"model": label, "output": str(out)}


def cmd_requirements_show(args, ws_root) -> tuple[int, dict]:
    from engine.regression.ratchet import baseline, effective_requirements, steps

    reg = open_registry(ws_root)
    try:
        _, label = reg.load_model(args.model)
        model_id = parse_ref(label)[0]
        data = reg.bundle_members(label)["requirements.json"]
        reqs = effective_requirements(reg.db, model_id, data)
        history = steps(reg.db, model_id)
    finally:
        reg.close()
    return 0, {"model": label, "requirements": [
        {"metric": r.metric, r.bound_name: r.bound, "applies": r.applies, "mean": r.mean,
         "range": r.range} for r in reqs], "baseline": baseline(data), "history": history}


def cmd_requirements_ratchet(args, ws_root) -> tuple[int, dict]:
    """Measure, propose, then record: the proposals are re-judged against the bounds in force
    inside the write transaction (a bound raised meanwhile is kept and the proposal dropped,
    listed under "dropped"), and the measured version must still be the one in use when no
    version was named."""
    from engine.regression.outliers import pinned_csv
    from engine.regression.ratchet import effective_requirements, propose, write_steps
    from engine.regression.suite import run_suite

    reg = open_registry(ws_root)
    try:
        model, label = reg.load_model(args.model)
        model_id, version = parse_ref(label)
        members = reg.bundle_members(label)
        reqs = effective_requirements(reg.db, model_id, members["requirements.json"])
        result = run_suite(model, label, members["requirements.json"],
                           members["regression_cases.csv"],
                           pinned=pinned_csv(reg.db, model_id, model), requirements_override=reqs)
        if not result.passed:
            return 1, {"model": label, "applied": 0, "problems": result.problems}
        proposals = propose(reqs, result)
        named = args.model is not None and parse_ref(args.model)[1] is not None
        written = None if args.dry_run else write_steps(
            reg.db, model_id, proposals, args.why, requirements=members["requirements.json"],
            active_version=None if named else int(version), writer="requirements ratchet")
    finally:
        reg.close()
    shown = proposals if written is None else written.steps
    return 0, {"model": label, "applied": 0 if written is None else len(written.steps),
               "proposals": [{"metric": p.metric, p.bound_name: p.proposed, "was": p.current,
                              "measured": p.measured} for p in shown],
               "dropped": [] if written is None else [d.to_json() for d in written.dropped]}


def cmd_requirements_set(args, ws_root) -> tuple[int, dict]:
    """One bound by hand; re-judged against the bound in force inside the write transaction,
    so a bound someone raised meanwhile is never lowered without --override."""
    from engine.regression.ratchet import Proposal, effective_requirements, write_steps

    reg = open_registry(ws_root)
    try:
        _, label = reg.load_model(args.model)
        model_id = parse_ref(label)[0]
        data = reg.bundle_members(label)["requirements.json"]
        reqs = effective_requirements(reg.db, model_id, data)
        req = next((r for r in reqs if r.metric == args.metric and r.applies == "overall"),
                   None)
        if req is None:
            raise InputError(f"{label} has no requirement on {args.metric!r}; it has "
                             f"{', '.join(r.metric for r in reqs) or 'none'}.", "E_METRIC")
        step = Proposal(req.metric, req.bound_name, req.bound, args.value, float("nan"),
                        req.applies)
        written = write_steps(reg.db, model_id, [step], args.why, override=args.override,
                              requirements=data, mode="set", writer="requirements set")
    finally:
        reg.close()
    return 0, {"model": label, "metric": req.metric, req.bound_name: args.value,
               "was": written.steps[0].current, "override": args.override}
