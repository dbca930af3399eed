"""`ratchet regress [--model ID[@VERSION]] [--report FILE.html|FILE.pdf]`."""

from __future__ import annotations

from pathlib import Path

from engine.commands import open_registry
from engine.errors import InputError
from engine.registry.refs import parse_ref


def register(sub) -> None:
    regress = sub.add_parser("regress", help="run a model's regression suite")
    regress.add_argument("--model", metavar="ID[@VERSION]", help="default: the active model")
    regress.add_argument("--report", metavar="FILE.html|FILE.pdf",
                         help="also write the report: HTML or PDF by the name's suffix")
    regress.set_defaults(handler=cmd_regress)


def cmd_regress(args, ws_root) -> tuple[int, dict]:
    from engine.ground.fileio import check_report_path
    from engine.services.regress import regress

    report = Path(args.report) if args.report else None
    check_report_path(report, "regression.html")
    registry = open_registry(ws_root)
    try:
        run = regress(registry, args.model, report=report)
    finally:
        registry.close()
    doc = run.result.to_json()
    del doc["cases"]["failures"]
    if report is not None:
        doc["report"] = str(report)
    return (0 if run.result.passed else 1), doc


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
    from engine.services.regress import pin_outlier

    row = _read_row(Path(args.input), args.row)
    reg = open_registry(ws_root)
    try:
        pin_id, label = pin_outlier(reg, args.model, row, args.note,
                                    f"{Path(args.input).name} row {args.row}")
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
    from engine.services.requirements import show

    reg = open_registry(ws_root)
    try:
        view = show(reg, args.model)
    finally:
        reg.close()
    return 0, {"model": view.label, "requirements": [
        {"metric": r.metric, r.bound_name: r.bound, "applies": r.applies, "mean": r.mean,
         "range": r.range} for r in view.requirements], "baseline": view.baseline,
        "history": view.steps}


def cmd_requirements_ratchet(args, ws_root) -> tuple[int, dict]:
    """Measure, propose, then record (engine.services.requirements.ratchet): a bound raised
    meanwhile is kept and the proposal dropped, listed under "dropped"."""
    from engine.services.requirements import ratchet

    reg = open_registry(ws_root)
    try:
        done = ratchet(reg, args.model, args.why, dry_run=args.dry_run)
    finally:
        reg.close()
    if not done.passed:
        return 1, {"model": done.label, "applied": 0, "problems": done.problems}
    written = done.written
    return 0, {"model": done.label, "applied": 0 if written is None else len(written.steps),
               "proposals": [{"metric": p.metric, p.bound_name: p.proposed, "was": p.current,
                              "measured": p.measured} for p in done.proposals],
               "dropped": [] if written is None else [d.to_json() for d in written.dropped]}


def cmd_requirements_set(args, ws_root) -> tuple[int, dict]:
    """One bound by hand (engine.services.requirements.set_bound): a bound someone raised
    meanwhile is never lowered without --override."""
    from engine.services.requirements import set_bound

    reg = open_registry(ws_root)
    try:
        done = set_bound(reg, args.model, args.metric, args.value, args.why, args.override)
    finally:
        reg.close()
    req = done.requirement
    return 0, {"model": done.label, "metric": req.metric, req.bound_name: args.value,
               "was": done.written.steps[0].current, "override": args.override}
