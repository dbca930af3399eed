"""`ratchet predict INPUT.csv -o OUTPUT.csv [--model ID[@VERSION]]`."""

from __future__ import annotations

from pathlib import Path

from engine.commands import end_progress, open_registry, progress_to_stderr


def register(sub) -> None:
    predict = sub.add_parser("predict", help="score a CSV file with the active model")
    predict.add_argument("input", metavar="INPUT.csv")
    predict.add_argument("-o", "--output", required=True, metavar="OUTPUT.csv")
    predict.add_argument("--model", metavar="ID[@VERSION]",
        help="default: the model whose inputs the file has")
    predict.set_defaults(handler=cmd_predict)


def cmd_predict(args, ws_root) -> tuple[int, dict]:
    from engine.services.predict import predict

    registry = open_registry(ws_root)
    try:
        result = predict(registry, Path(args.input), Path(args.output), args.model,
                         progress=progress_to_stderr).result
    finally:
        registry.close()
    end_progress()
    summary = {"model": result.model, "rows": result.rows, "ok": result.ok,
               "rejected": result.rejected, "output": result.output}
    return (1 if result.rejected else 0), summary
