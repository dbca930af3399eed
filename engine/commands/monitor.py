"""`ratchet nowtest`, `ratchet watch`, `ratchet alarms list | ack` and
`ratchet settings list | get | set`."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

from engine.errors import InputError


def register(sub) -> None:
    nowtest = sub.add_parser("nowtest", help="now-test a model on the latest data; exit 1 on "
                             "an alarm")
    nowtest.add_argument("input", metavar="INPUT.csv")
    nowtest.add_argument("--model", metavar="ID[@VERSION]",
        help="default: the model whose inputs the file has")
    nowtest.add_argument("--report", metavar="FILE.html|FILE.pdf",
                         help="also write the report: HTML or PDF by the name's suffix")
    nowtest.add_argument("--segment", action="append", default=[], metavar="COL",
                         help="a category input of the model: every metric per value of it "
                         "(the 20 values with the most rows, the rest as \"other\"), with "
                         "each segment's drift, ranked worst first (repeat for more columns)")
    nowtest.set_defaults(handler=cmd_nowtest)

    watch = sub.add_parser("watch", help="now-test every new CSV in the watch folders "
                           "(headless); one line per file, JSON Lines with --json")
    watch.add_argument("folder", metavar="FOLDER", nargs="?",
                       help="default: every configured folder (the settings watch.folders "
                       "and watch.folder), each with its own model")
    watch.add_argument("--once", action="store_true", help="process what has settled now, "
                       "then exit (1 if a file raised an alarm or failed)")
    watch.add_argument("--model", metavar="ID[@VERSION]",
        help="with FOLDER: now-test its files with this model (default: the model the "
        "settings bind FOLDER to, else the one whose inputs the file has)")
    watch.set_defaults(handler=cmd_watch)

    alarms = sub.add_parser("alarms", help="alarms raised by now-tests").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    lst = alarms.add_parser("list", help="the alarms, newest first")
    lst.add_argument("--open", action="store_true", help="only those not acknowledged")
    lst.set_defaults(handler=cmd_alarms_list)
    ack = alarms.add_parser("ack", help="acknowledge an alarm")
    ack.add_argument("id", metavar="ID", help="the alarm's id (from `ratchet alarms list`)")
    ack.set_defaults(handler=cmd_alarms_ack)

    settings = sub.add_parser("settings", help="the workstation's settings (SMTP, alarm "
                              "recipients, watch folders)").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    settings.add_parser("list", help="every setting with its value and help (watch.folders: "
                        "FOLDER=MODEL entries separated by ';', a FOLDER alone for the model "
                        "its files' header fits)").set_defaults(
        handler=cmd_settings_list)
    get = settings.add_parser("get", help="one setting's value")
    get.add_argument("key", metavar="KEY")
    get.set_defaults(handler=cmd_settings_get)
    put = settings.add_parser("set", help="change a setting (VALUE - reads it from stdin, "
                              "for the password)")
    put.add_argument("key", metavar="KEY")
    put.add_argument("value", metavar="VALUE")
    put.set_defaults(handler=cmd_settings_set)


# -- nowtest -------------------------------------------------------------------------------
def cmd_nowtest(args, ws_root) -> tuple[int, dict]:
    from engine.ground.fileio import check_report_path
    from engine.services.nowtest import nowtest_and_alarm, write_report

    report = Path(args.report) if args.report else None
    check_report_path(report, "nowtest.html")
    outcome = nowtest_and_alarm(ws_root, Path(args.input), args.model, source="cli",
                                segments=getattr(args, "segment", None) or ())
    doc = outcome.to_json()
    if report is not None:
        write_report(outcome.result, report, Path(args.input), ws_root)
        doc["report"] = str(report)
    return (1 if outcome.result.alarm else 0), doc


# -- watch ---------------------------------------------------------------------------------
def _short(reason) -> str:
    """"roc_auc 0.865 < 0.92" for a missed requirement, "drift dep_delay" for the others."""
    from engine.alarms.email import comparison

    if reason.kind in ("metric", "estimate"):
        return comparison(reason)
    return f"{reason.kind.replace('_', ' ')} {reason.subject}"


def event_line(event) -> str:
    """One line per file for people: what happened and, on an alarm, why."""
    name = Path(event.path).name
    if event.state != "done":
        return f"failed  {name}: {event.error}"
    result = getattr(event.outcome, "result", None)
    line = f"done    {name}: now-test {event.nowtest_id}"
    if result is not None:
        line += f", {result.model}, {result.rows} rows"
        if result.alarm:
            new = len(getattr(event.outcome, "new_alarms", []) or [])
            line += f", ALARM ({new} new): " + ", ".join(_short(r) for r in result.reasons)
        else:
            line += ", no alarm"
    return line


def _event_json(event) -> dict:
    doc = event.to_json()
    if event.state != "done":
        doc.update(code=event.code, new_alarms=[
            a.id for a in getattr(event.outcome, "new_alarms", None) or []])
    result = getattr(event.outcome, "result", None)
    if result is not None:
        doc.update(model=result.model, rows=result.rows, alarm=result.alarm,
                   new_alarms=[a.id for a in event.outcome.new_alarms])
    return doc


def _stop_on_signals(stop: threading.Event, cancel) -> dict:
    """Ctrl-C or SIGTERM: stop after (cancelling) the file in progress; a second Ctrl-C
    interrupts at once. Returns the previous handlers."""
    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        cancel.cancel()

    previous = {}
    for sig in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
        if sig is not None:
            previous[sig] = signal.signal(sig, handler)
    return previous


def _bindings(args, ws_root):
    """The folders `ratchet watch` watches, each with its model: FOLDER with --model (or the
    model the settings bind it to), else every configured folder."""
    from engine.ground.watch_folders import WatchBinding
    from engine.services.watching import configured_bindings

    configured, settle = configured_bindings(ws_root)
    if args.folder:
        folder = Path(args.folder).expanduser()
        folder = str(folder.resolve()) if folder.is_dir() else str(folder)
        bound = next((b.model for b in configured if b.folder == folder), None)
        return [WatchBinding(folder, args.model or bound)], settle
    if args.model:
        raise InputError("--model goes with FOLDER (`ratchet watch FOLDER --model ID`); "
                         "without FOLDER every configured watch folder is watched with its "
                         "own model (`ratchet settings get watch.folders`).", "E_USAGE")
    if not configured:
        raise InputError("no folder to watch: give FOLDER, or set one with `ratchet settings "
                         "set watch.folder FOLDER` (or several, each bound to a model, with "
                         "`ratchet settings set watch.folders \"FOLDER=MODEL;...\"`).",
                         "E_WATCH_FOLDER")
    return configured, settle


def cmd_watch(args, ws_root) -> tuple[int, dict]:
    from engine.progress import CancelToken
    from engine.services.watching import watch_all

    bindings, settle = _bindings(args, ws_root)
    as_json = bool(getattr(args, "json", False))
    cancel = CancelToken()
    stop = threading.Event()
    counts = {"done": 0, "failed": 0, "alarms": 0}

    def on_event(event) -> None:
        counts[event.state] += 1
        result = getattr(event.outcome, "result", None)
        counts["alarms"] += int(bool(result is not None and result.alarm))
        print(json.dumps(_event_json(event)) if as_json else event_line(event), flush=True)

    watchers = watch_all(ws_root, bindings, "watch", cancel, settle)
    folders = [{"folder": str(w.folder), "model": w.model} for w in watchers.watchers]
    summary = {"folder": folders[0]["folder"]} if len(folders) == 1 else {}
    summary["folders"] = folders
    if args.once:
        for event in watchers.drain():
            on_event(event)
        negative = counts["failed"] or counts["alarms"]
        return (1 if negative else 0), {**summary, "processed": counts["done"],
                                        "failed": counts["failed"], "alarms": counts["alarms"]}
    in_main = threading.current_thread() is threading.main_thread()
    previous = _stop_on_signals(stop, cancel) if in_main else {}
    shown = ", ".join(f"{f['folder']} ({f['model'] or 'by header'})" for f in folders)
    print(f"watching {shown} (Ctrl-C stops)", file=sys.stderr, flush=True)
    try:
        watchers.run(stop, on_event=on_event)
    except KeyboardInterrupt:
        pass  # the second Ctrl-C: the file in progress is released for the next run
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    return 0, {**summary, "processed": counts["done"], "failed": counts["failed"],
               "alarms": counts["alarms"], "stopped": True}


# -- alarms --------------------------------------------------------------------------------
def cmd_alarms_list(args, ws_root) -> tuple[int, dict]:
    from engine.alarms.store import list_alarms
    from engine.commands import open_registry

    reg = open_registry(ws_root)
    try:
        alarms = list_alarms(reg.db, open_only=args.open)
    finally:
        reg.close()
    return 0, {"alarms": [a.to_json() for a in alarms]}


def cmd_alarms_ack(args, ws_root) -> tuple[int, dict]:
    from engine.alarms.store import acknowledge
    from engine.commands import open_registry

    text = str(args.id).strip()
    if not text.isdigit():
        raise InputError(f"the alarm id {args.id!r} is not a whole number; `ratchet alarms "
                         "list` shows the ids.", "E_USAGE")
    reg = open_registry(ws_root)
    try:
        alarm = acknowledge(reg.db, int(text))
    finally:
        reg.close()
    return 0, {"alarm": alarm.to_json()}


# -- settings ------------------------------------------------------------------------------
def cmd_settings_list(args, ws_root) -> tuple[int, dict]:
    from engine.ground.settings import describe_settings

    return 0, {"settings": describe_settings(ws_root)}


def cmd_settings_get(args, ws_root) -> tuple[int, dict]:
    from engine.ground.settings import get_setting
    from engine.ground.settings_spec import spec

    setting = spec(args.key)
    return 0, {"key": setting.key, "value": setting.shown(get_setting(ws_root, args.key))}


def _read_secret(key: str) -> str:
    """`settings set smtp.password -`: from the terminal without echo, or one line of stdin
    (so the password is not left in the shell history or the process list)."""
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"{key}: ")
    line = sys.stdin.readline() if sys.stdin is not None else ""
    return line.rstrip("\r\n")


def cmd_settings_set(args, ws_root) -> tuple[int, dict]:
    from engine.ground.settings import set_setting
    from engine.ground.settings_spec import spec

    setting = spec(args.key)
    text = _read_secret(setting.key) if args.value == "-" and setting.secret else args.value
    value = set_setting(ws_root, setting.key, text)
    return 0, {"key": setting.key, "value": setting.shown(value)}
