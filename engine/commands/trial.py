"""`ratchet gate BUNDLE ...` and `ratchet trial start BUNDLE | status | accept | reject`.

gate: exit 0 when the candidate is accepted, 1 when it is rejected (the reasons say why), 2 for
bad input (nothing recorded). trial start: 0 started, 1 refused because the gate rejected the
candidate (nothing installed). trial accept: 0 accepted, 1 refused (the trial has not run its
course, or the challenger missed a requirement in the shadow runs; --force overrides, on the
record). trial status / reject: 0.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.commands import end_progress, open_registry, progress_to_stderr


def _json_flag(parser) -> None:
    """`--json` after the subcommand too (the global flag works before it)."""
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print a JSON result on stdout")


def _gate_options(parser) -> None:
    parser.add_argument("bundle", metavar="BUNDLE", help="the candidate bundle (verified; the "
                        "gate installs nothing), or an installed ID@VERSION")
    parser.add_argument("--corpus", required=True, metavar="C", help="the back-test history: a "
                        "CSV or Parquet file, or a folder of them")
    parser.add_argument("--time-column", required=True, metavar="T",
                        help="the column with each row's date or time (ISO 8601)")
    parser.add_argument("--by", default="month", metavar="month|quarter|year",
                        help="the back-test partitions (default: month)")
    parser.add_argument("--timezone", metavar="ZONE", help="an IANA time zone (e.g. "
                        "America/New_York) the back-test's times with an offset or Z are "
                        "converted to (default: every time as written)")
    parser.add_argument("--latest", metavar="FILE.csv", help="the latest data, to now-test "
                        "the candidate on (no metric alarm allowed)")
    parser.add_argument("--margin", type=float, metavar="X", help="beat the champion by at "
                        "least X on the primary metric (default: a 95%% interval above zero)")
    parser.add_argument("--tolerance", type=float, metavar="X", help="the most any partition "
                        "may be worse than the champion's (default: 0.01)")
    parser.add_argument("--report", metavar="FILE.html|FILE.pdf", help="where to write the "
                        "report, HTML or PDF by the name's suffix (default: HTML in the "
                        "workspace's reports folder)")
    _json_flag(parser)


def register(sub) -> None:
    gate = sub.add_parser("gate", help="the promotion gate: may this candidate replace the "
                          "champion? exit 1 when not")
    _gate_options(gate)
    gate.set_defaults(handler=cmd_gate)

    trial = sub.add_parser("trial", help="try a challenger in shadow beside the champion, then "
                           "accept or reject it").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    start = trial.add_parser("start", help="run the gate (or reuse an accepting one, --gate); "
                             "if it accepts, install the challenger (inactive) and start its "
                             "shadow trial")
    _gate_options(start)
    start.add_argument("--batches", type=int, metavar="N", help="shadow batches (prediction "
                       "batches and now-tested files) before it can be accepted (default 5 "
                       "when --days is not given)")
    start.add_argument("--days", type=float, metavar="D", help="days before it can be accepted")
    start.add_argument("--gate", type=int, metavar="ID", help="use this accepting gate run "
                       "(`ratchet gate` printed its id) instead of gating again; refused "
                       "unless it gated these very bundle bytes against the active champion "
                       "with the same options and today's requirements")
    start.set_defaults(handler=cmd_trial_start)
    status = trial.add_parser("status", help="the trial's progress and champion against "
                              "challenger side by side")
    status.add_argument("--model", metavar="ID", help="default: the running trial")
    status.add_argument("--trial", type=int, metavar="N", help="a trial by its number")
    _json_flag(status)
    status.set_defaults(handler=cmd_trial_status)
    accept = trial.add_parser("accept", help="activate the challenger and ratchet the "
                              "requirements up")
    accept.add_argument("--model", metavar="ID", help="default: the running trial")
    accept.add_argument("--force", action="store_true", help="accept before the declared "
                        "batches / days or despite a shadow miss (recorded)")
    accept.add_argument("--why", help="recorded with the acceptance")
    _json_flag(accept)
    accept.set_defaults(handler=cmd_trial_accept)
    reject = trial.add_parser("reject", help="close the trial; the champion stays")
    reject.add_argument("--reason", required=True, help="why (recorded)")
    reject.add_argument("--model", metavar="ID", help="default: the running trial")
    _json_flag(reject)
    reject.set_defaults(handler=cmd_trial_reject)


def _gate_setup(args):
    """The candidate and options of `gate` / `trial start`, and where the report goes."""
    from engine.backtest.partitions import check_timezone
    from engine.ground.fileio import check_report_path
    from engine.services.trial import GateSetup
    from engine.trial.gate import TOLERANCE

    report = Path(args.report) if args.report else None
    check_report_path(report, "gate.html")
    timezone = check_timezone(getattr(args, "timezone", None))
    setup = GateSetup(args.bundle, args.corpus, args.time_column, args.by, args.latest,
                      args.margin, TOLERANCE if args.tolerance is None else args.tolerance,
                      timezone)
    return setup, report


def _gate_summary(gate) -> dict:
    """The gate's verdict, reasons and checks; the evidence stays in the report and history."""
    doc = gate.to_json()
    return {k: doc[k] for k in ("verdict", "candidate", "champion", "reasons", "checks",
                                "metric", "margin", "tolerance", "requirements", "id",
                                "report")}


def cmd_gate(args, ws_root) -> tuple[int, dict]:
    from engine.services.trial import gate

    setup, report = _gate_setup(args)
    registry = open_registry(ws_root)
    try:
        result = gate(registry, setup, report=report, progress=progress_to_stderr)
    finally:
        registry.close()
        end_progress()
    return (0 if result.accepted else 1), _gate_summary(result)


def cmd_trial_start(args, ws_root) -> tuple[int, dict]:
    from engine.services.trial import start

    setup, report = _gate_setup(args)
    registry = open_registry(ws_root)
    try:
        gate, status = start(registry, setup, batches=args.batches, days=args.days,
                             gate_id=args.gate, report=report, progress=progress_to_stderr)
    finally:
        registry.close()
        end_progress()
    doc = {"started": status is not None, "gate": _gate_summary(gate)}
    if status is None:
        doc["reasons"] = gate.reasons
        return 1, doc
    doc["trial"] = _status_summary(status)
    return 0, doc


def _status_summary(status) -> dict:
    doc = status.to_json()
    doc["observations"] = [{k: o[k] for k in ("id", "kind", "at", "input", "source_id", "rows",
                                              "output", "error")}
                           for o in doc["observations"]]
    return doc


def cmd_trial_status(args, ws_root) -> tuple[int, dict]:
    from engine.services.trial import status

    registry = open_registry(ws_root)
    try:
        shown = status(registry, args.model, args.trial)
    finally:
        registry.close()
    return 0, shown.to_json()


def cmd_trial_accept(args, ws_root) -> tuple[int, dict]:
    from engine.services.trial import accept

    registry = open_registry(ws_root)
    try:
        outcome = accept(registry, args.model, force=args.force, why=args.why)
    finally:
        registry.close()
    doc = outcome.to_json()
    doc["trial"] = _status_summary(outcome.status)
    return (0 if outcome.accepted else 1), doc


def cmd_trial_reject(args, ws_root) -> tuple[int, dict]:
    from engine.services.trial import reject

    registry = open_registry(ws_root)
    try:
        status = reject(registry, args.reason, args.model)
    finally:
        registry.close()
    return 0, _status_summary(status)
