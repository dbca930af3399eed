"""The `ratchet` command line (headless commands). A stable contract: see DESIGN.md.

Exit codes: 0 success; 1 it ran and the verdict is negative; 2 usage or input error, with a
one-paragraph message on stderr, no traceback, and nothing written or changed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from engine import __version__
from engine.errors import EngineError, InputError
from engine.fileio import write_atomic

log = logging.getLogger(__name__)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # exit 2 with one clear paragraph, as argparse does
        self.print_usage(sys.stderr)
        self.exit(2, f"ratchet: {message}. Run `ratchet --help` for the commands.\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ratchet", description="Ratchet: trustworthy small models in "
                     "production. With no command, opens the desktop app.")
    parser.add_argument("--version", action="version", version=f"ratchet {__version__}")
    parser.add_argument("--workspace", metavar="DIR", help="workspace folder (default: the "
                        "platform's user data dir, or $RATCHET_HOME)")
    parser.add_argument("--json", action="store_true", help="print a JSON result on stdout")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    export = sub.add_parser("export", help="publisher: scikit-learn model -> coefficients.json")
    export.add_argument("model", metavar="MODEL.joblib")
    export.add_argument("--sample", required=True, metavar="TRAIN.csv",
                        help="the training sample (gives the input schema)")
    export.add_argument("--target", required=True, metavar="COL", help="the label column")
    export.add_argument("--model-id", required=True, metavar="ID")
    export.add_argument("-o", "--output", required=True, metavar="coefficients.json")
    export.set_defaults(handler=_cmd_export)
    return parser


def _cmd_export(args) -> tuple[int, dict]:
    from engine.export.exporter import export_model
    from engine.export.load import load_publisher_model, read_sample  # publisher side only

    out = Path(args.output)
    if not out.parent.is_dir():
        raise InputError(f"the output folder {out.parent} does not exist; create it or choose "
                         "another -o path.")
    model = load_publisher_model(Path(args.model))
    sample = read_sample(Path(args.sample))
    doc = export_model(model, sample, args.target, args.model_id)
    text = json.dumps(doc, indent=1, allow_nan=False, ensure_ascii=False) + "\n"
    write_atomic(out, text.encode("utf-8"))
    n_trees = len(doc["estimator"].get("trees", []))
    summary = {"model_id": args.model_id, "task": doc["task"], "output": str(out),
               "inputs": len(doc["inputs"]), "estimator": doc["estimator"]["kind"],
               "trees": n_trees, "bytes": len(text.encode("utf-8"))}
    return 0, summary


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        code, result = args.handler(args)
    except EngineError as exc:
        if args.json:
            print(json.dumps(exc.to_json()))
        print(f"ratchet {args.command}: {exc.message}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        print(" ".join(f"{k}={v}" for k, v in result.items()))
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
