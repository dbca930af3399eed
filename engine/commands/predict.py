"""`ratchet predict INPUT.csv -o OUTPUT.csv [--model ID[@VERSION]]`."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.commands import open_registry


def register(sub) -> None:
    predict = sub.add_parser("predict", help="score a CSV file with the active model")
    predict.add_argument("input", metavar="INPUT.csv")
    predict.add_argument("-o", "--output", required=True, metavar="OUTPUT.csv")
    predict.add_argument("--model", metavar="ID[@VERSION]", help="default: the active model")
    predict.set_defaults(handler=cmd_predict)


def _progress_to_stderr(fraction: float, message: str) -> None:
    if sys.stderr.isatty():
        print(f"\r{fraction:6.1%}  {message}\033[K", end="", file=sys.stderr, flush=True)


def cmd_predict(args, ws_root) -> tuple[int, dict]:
    from engine.batch.commit import reconcile_batches
    from engine.batch.score import score_csv
    from engine.trial.shadow import shadow_batch

    registry = open_registry(ws_root)
    try:
        reconcile_batches(registry.db)  # batches of killed runs: completed or marked failed
        model, label = registry.load_model(args.model)
        result = score_csv(Path(args.input), Path(args.output), model, label,
                           registry.bundle_sha256(label), progress=_progress_to_stderr,
                           db=registry.db)
        shadow_batch(registry, result, result.batch_id)  # a trial's challenger; never raises
    finally:
        registry.close()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    summary = {"model": label, "rows": result.rows, "ok": result.ok,
               "rejected": result.rejected, "output": result.output}
    return (1 if result.rejected else 0), summary
