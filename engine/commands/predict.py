"""`ratchet predict INPUT.csv -o OUTPUT.csv [--model ID[@VERSION]] [--explain K | --explain-all]`.
"""

from __future__ import annotations

from pathlib import Path

from engine.commands import end_progress, open_registry, progress_to_stderr


def register(sub) -> None:
    predict = sub.add_parser("predict", help="score a CSV file with the active model")
    predict.add_argument("input", metavar="INPUT.csv")
    predict.add_argument("-o", "--output", required=True, metavar="OUTPUT.csv")
    predict.add_argument("--model", metavar="ID[@VERSION]",
        help="default: the model whose inputs the file has")
    why = predict.add_mutually_exclusive_group()
    why.add_argument("--explain", type=_positive, metavar="K", default=0,
        help="append why_1..why_K: the K inputs that moved each row's raw score most, with "
             "their values and contributions (exact; raw score space)")
    why.add_argument("--explain-all", action="store_true",
        help="append contrib_<column>: every input's contribution to the raw score")
    predict.set_defaults(handler=cmd_predict)


def _positive(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def cmd_predict(args, ws_root) -> tuple[int, dict]:
    from engine.batch.explain_cells import ExplainRequest
    from engine.services.predict import predict

    explain = ExplainRequest(args.explain, args.explain_all)
    registry = open_registry(ws_root)
    try:
        result = predict(registry, Path(args.input), Path(args.output), args.model,
                         progress=progress_to_stderr, explain=explain).result
    finally:
        registry.close()
    end_progress()
    summary = {"model": result.model, "rows": result.rows, "ok": result.ok,
               "rejected": result.rejected, "output": result.output}
    return (1 if result.rejected else 0), summary
