"""The `ratchet` command line (headless commands). A stable contract: see DESIGN.md.

Exit codes: 0 success; 1 it ran and the verdict is negative; 2 usage or input error, with a
one-paragraph message on stderr, no traceback, and nothing written or changed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path

from engine import __version__
from engine.commands import (
    backtest,
    doctor,
    models,
    monitor,
    predict,
    publish,
    regress,
    search,
    trial,
)
from engine.errors import Cancelled, EngineError
from engine.ground.environment import environment_problem

log = logging.getLogger(__name__)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # exit 2 with one clear paragraph, as argparse does
        self.print_usage(sys.stderr)
        self.exit(2, f"ratchet: {message}. Run `ratchet --help` for the commands.\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ratchet", description="Ratchet: trustworthy small models in "
                     "production. With no command, opens the desktop app.")
    parser.add_argument("--version", action="version", version=f"ratchet {__version__}")
    _global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    predict.register(sub)
    regress.register(sub)
    regress.register_admin(sub)
    backtest.register(sub)
    trial.register(sub)
    models.register(sub)
    publish.register(sub)
    search.register(sub)
    monitor.register(sub)
    doctor.register(sub)
    _global_options_everywhere(parser)
    return parser


def _global_options(parser: argparse.ArgumentParser, default=None) -> None:
    parser.add_argument("--workspace", metavar="DIR", default=default, help="workspace folder "
                        "(default: the platform's user data dir, or $RATCHET_HOME)")
    parser.add_argument("--json", action="store_true",
                        default=False if default is None else default,
                        help="print a JSON result on stdout")


def _global_options_everywhere(parser: argparse.ArgumentParser) -> None:
    """`--json` and `--workspace DIR` after every command and subcommand too, as before it.
    Their defaults there are suppressed, so a value given before the command stands."""
    seen: set[int] = set()
    todo = [parser]
    while todo:
        for action in todo.pop()._actions:
            if not isinstance(action, argparse._SubParsersAction):
                continue
            for child in action.choices.values():
                if id(child) in seen:
                    continue
                seen.add(id(child))
                have = {o for a in child._actions for o in a.option_strings}
                if "--workspace" not in have and "--json" not in have:
                    _global_options(child, default=argparse.SUPPRESS)
                elif "--workspace" not in have:  # a command that declared its own --json
                    child.add_argument("--workspace", metavar="DIR", default=argparse.SUPPRESS,
                                       help="workspace folder (as before the command)")
                todo.append(child)


def _render(result: dict) -> str:
    """Plain text for people: one `key: value` line each; lists of records as indented lines."""
    lines = []
    for key, value in result.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            lines.append(f"{key}:")
            lines += ["  " + "  ".join(f"{k}={v}" for k, v in item.items()) for item in value]
        elif isinstance(value, list) and value and isinstance(value[0], str):
            lines.append(f"{key}:")
            lines += [f"  - {item}" for item in value]
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)


class _NoTraceback(logging.Formatter):
    """Tracebacks go to the log file, never to the terminal."""

    def formatException(self, ei) -> str:
        return ""

    def format(self, record: logging.LogRecord) -> str:
        record.exc_text = ""
        return super().format(record).rstrip()


WORKSPACE_COMMANDS = {"predict", "regress", "outliers", "requirements", "models", "trust",
                      "bundle", "backtest", "doctor", "nowtest", "watch", "alarms", "settings",
                      "gate",
                      "trial"}


def _log_to_workspace(root) -> None:
    """Workstation commands also log (INFO and up) to the workspace's logs/ratchet.log, where
    refusals are recorded with their precise code."""
    from engine.ground.paths import Workspace

    try:
        handler = logging.FileHandler(Workspace.open(root).logs_dir / "ratchet.log",
                                      encoding="utf-8")
    except OSError:
        return  # the command itself will report the unusable workspace
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    engine_log = logging.getLogger("engine")
    engine_log.setLevel(logging.INFO)
    engine_log.addHandler(handler)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    to_stderr = logging.StreamHandler()
    to_stderr.setLevel(logging.WARNING)  # INFO goes only to the workspace log file
    to_stderr.setFormatter(_NoTraceback("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[to_stderr])
    if args.command in WORKSPACE_COMMANDS:
        _log_to_workspace(args.workspace)
    _stop_cleanly_on_signals()
    try:
        code, result = args.handler(args, args.workspace)
    except EngineError as exc:
        return _refused(args, exc)
    except Cancelled:
        print(f"ratchet {args.command}: cancelled; nothing was written.", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, _Stopped) as exc:
        how = "interrupted (Ctrl-C)" if isinstance(exc, KeyboardInterrupt) else str(exc)
        print(f"\nratchet {args.command}: {how}; its unfinished output was removed and "
              "nothing was recorded.", file=sys.stderr)
        return 130
    except Exception as exc:  # the machine's fault (one paragraph), or a bug (details logged)
        problem = environment_problem(exc, database=_database_of(args.workspace))
        if problem is not None:
            log.info("ratchet %s: %s", args.command, problem.message, exc_info=True)
            return _refused(args, problem)
        log.info("ratchet %s failed", args.command, exc_info=True)  # to the log file only
        what = f"{type(exc).__name__}: {exc}"
        if args.json:
            print(json.dumps({"error": "E_INTERNAL", "message": what}))
        print(f"ratchet {args.command}: unexpected failure ({what}). This is a bug in "
              "Ratchet: the details are in the workspace log (logs/ratchet.log); please "
              "report it.", file=sys.stderr)
        return 2
    return _print_result(args, code, result)


def _refused(args, exc: EngineError) -> int:
    if args.json:
        _print_safely(json.dumps(exc.to_json()))
    print(f"ratchet {args.command}: {exc.message} [{exc.code}]", file=sys.stderr)
    return 2


def _print_result(args, code: int, result: dict) -> int:
    _print_safely(json.dumps(result) if args.json else _render(result))
    return code


def _print_safely(text: str) -> None:
    """Print to stdout; a reader that went away (`| head`) is not an error of ours."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        # Python would complain again when it flushes stdout at exit: point it at /dev/null.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


class _Stopped(Exception):
    """SIGTERM or SIGHUP: unwind like Ctrl-C, so unfinished files are removed."""


def _stop_cleanly_on_signals() -> None:
    def stop(signum, frame):
        raise _Stopped(f"stopped by {signal.Signals(signum).name}")

    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None and signal.getsignal(sig) in (signal.SIG_DFL, None):
            signal.signal(sig, stop)


def _database_of(workspace) -> Path | None:
    try:
        from engine.ground.paths import default_workspace

        return Path(workspace or default_workspace()) / "ratchet.db"
    except Exception:
        return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
