"""Publisher commands: export, keys generate, bundle build | verify."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from pathlib import Path

from engine.commands import open_registry
from engine.errors import InputError
from engine.ground.fileio import write_atomic


def register(sub) -> None:
    export = sub.add_parser("export", help="publisher: a trained model -> coefficients.json")
    export.add_argument("model", metavar="MODEL",
                        help="a joblib file (scikit-learn, XGBoost or LightGBM's scikit-learn "
                             "wrappers), an XGBoost .json / .ubj or a LightGBM .txt model file")
    export.add_argument("--sample", required=True, metavar="TRAIN.csv",
                        help="the training sample (gives the input schema)")
    export.add_argument("--target", required=True, metavar="COL", help="the label column")
    export.add_argument("--model-id", required=True, metavar="ID")
    export.add_argument("-o", "--output", required=True, metavar="coefficients.json")
    export.add_argument("--missing", type=_number, metavar="VALUE",
                        help="XGBoost model files only: the `missing` value the model was "
                             "trained with, if not NaN (the file does not record it)")
    export.add_argument("--missing-markers", type=_markers, default=None, metavar="LIST",
                        help="the texts that mean 'no value' in the operator's CSV files, "
                             "separated by commas; the empty cell always counts (default "
                             "',NA': the empty cell and NA, as R and pandas write it). E.g. "
                             "--missing-markers ',NA,N/A'; --missing-markers '' for the "
                             "empty cell only. A marker may not be a number or a category "
                             "seen in training; the sample is read with the markers as missing")
    export.set_defaults(handler=cmd_export)

    keys = sub.add_parser("keys", help="publisher: signing keys").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    gen = keys.add_parser("generate", help="make an Ed25519 key pair")
    gen.add_argument("--out", required=True, metavar="DIR")
    gen.add_argument("--name", default="publisher", help="file name stem (default publisher)")
    gen.set_defaults(handler=cmd_keys_generate)

    bundle = sub.add_parser("bundle", help="publisher: build or verify a bundle").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    build = bundle.add_parser("build", help="sign coefficients, requirements and cases")
    build.add_argument("--coefficients", required=True, metavar="F")
    build.add_argument("--requirements", required=True, metavar="F")
    build.add_argument("--cases", required=True, metavar="F")
    build.add_argument("--quality-rules", metavar="F",
                       help="quality_rules.json: data-quality rules every now-test checks "
                            "(optional; `ratchet export` writes a starting point)")
    build.add_argument("--version", required=True, type=int, metavar="N")
    build.add_argument("--key", required=True, action="append", metavar="PRIVATE_KEY",
                       help="repeat for several signatures")
    build.add_argument("--expires", metavar="DATE", help="YYYY-MM-DD (default: in a year)")
    build.add_argument("-o", "--output", required=True, metavar="OUT.ratchet")
    build.set_defaults(handler=cmd_bundle_build)
    verify = bundle.add_parser("verify", help="check a bundle against this trust store")
    verify.add_argument("bundle", metavar="BUNDLE")
    verify.set_defaults(handler=cmd_bundle_verify)


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if math.isinf(value):
        raise argparse.ArgumentTypeError("an infinite missing value cannot be used")
    return value


def _markers(text: str) -> tuple[str, ...]:
    """`--missing-markers`: comma-separated texts; the empty cell is always one of them."""
    given = [m.strip() for m in text.split(",")]
    return tuple(given if "" in given else ["", *given])


def _output_path(text: str) -> Path:
    out = Path(text)
    if not out.parent.is_dir():
        raise InputError(f"the output folder {out.parent} does not exist; create it or choose "
                         "another -o path.")
    return out


def cmd_export(args, ws_root) -> tuple[int, dict]:
    from engine.bundle.manifest import MODEL_ID
    from engine.export.exporter import export_model
    from engine.export.load import load_publisher_model, read_sample
    from engine.export.quality import rules_file
    from engine.formats.quality_rules import QUALITY_RULES

    if not MODEL_ID.fullmatch(args.model_id):
        raise InputError(f"--model-id {args.model_id!r} is not a usable model id: use 1-64 "
                         "lower-case letters, digits, '.', '_' or '-', starting with a letter or "
                         "digit.", "E_MODEL_ID")
    out = _output_path(args.output)
    model = load_publisher_model(Path(args.model), args.missing)
    sample = read_sample(Path(args.sample), args.missing_markers or ())
    markers = {} if args.missing_markers is None else {"missing_markers": args.missing_markers}
    doc = export_model(model, sample, args.target, args.model_id, **markers)
    data = (json.dumps(doc, indent=1, allow_nan=False, ensure_ascii=False) + "\n").encode()
    write_atomic(out, data)
    rules = out.parent / QUALITY_RULES  # a starting point, never over the publisher's edits
    kept = rules.exists()
    if not kept:
        write_atomic(rules, rules_file(doc["inputs"], sample, Path(args.sample).name))
    return 0, {"model_id": args.model_id, "task": doc["task"], "output": str(out),
               "quality_rules": str(rules), "quality_rules_kept": kept,
               "inputs": len(doc["inputs"]), "missing_markers": doc["missing_markers"],
               "estimator": doc["estimator"]["kind"],
               "trees": len(doc["estimator"].get("trees", [])), "bytes": len(data)}


def cmd_keys_generate(args, ws_root) -> tuple[int, dict]:
    from engine.bundle.signing import generate_keys

    private, public, keyid = generate_keys(Path(args.out), args.name)
    return 0, {"private_key": str(private), "public_key": str(public), "keyid": keyid}


def _read(path_text: str) -> bytes:
    path = Path(path_text)
    if not path.is_file():
        raise InputError(f"{path} does not exist or is not a file.")
    return path.read_bytes()


def cmd_bundle_build(args, ws_root) -> tuple[int, dict]:
    from engine.bundle.build import build_bundle
    from engine.bundle.signing import load_private_key

    out = _output_path(args.output)
    payload = {"coefficients.json": _read(args.coefficients),
               "requirements.json": _read(args.requirements),
               "regression_cases.csv": _read(args.cases)}
    if args.quality_rules:
        payload["quality_rules.json"] = _read(args.quality_rules)
    keys = [load_private_key(Path(k)) for k in args.key]
    expires = None
    if args.expires:
        try:
            expires = dt.datetime.strptime(args.expires, "%Y-%m-%d").replace(tzinfo=dt.UTC)
        except ValueError:
            raise InputError(f"--expires {args.expires!r} is not a date like 2027-12-31.") from None
    data = build_bundle(payload, args.version, keys, expires=expires)
    write_atomic(out, data)
    return 0, {"output": str(out), "version": args.version, "bytes": len(data)}


def cmd_bundle_verify(args, ws_root) -> tuple[int, dict]:
    from engine.registry.registry import read_bundle_file

    registry = open_registry(ws_root)
    try:
        bundle = registry.verify(read_bundle_file(Path(args.bundle)))
    finally:
        registry.close()
    m = bundle.manifest
    return 0, {"model_id": m.model_id, "version": m.version, "status": "verified",
               "signers": list(bundle.signers), "cases": len(bundle.cases),
               "already_accepted": bundle.already_accepted}
