"""Workstation commands: models list | show | import | activate | deactivate | rollback;
trust ..."""

from __future__ import annotations

from pathlib import Path

from engine.commands import open_registry
from engine.errors import InputError
from engine.registry.refs import parse_ref


def register(sub) -> None:
    models = sub.add_parser("models", help="installed models").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    models.add_parser("list", help="installed models and versions").set_defaults(
        handler=cmd_list)
    show = models.add_parser("show", help="one model's versions and history")
    show.add_argument("ref", metavar="ID[@VERSION]")
    show.set_defaults(handler=cmd_show)
    imp = models.add_parser("import", help="verify a bundle, install and activate it")
    imp.add_argument("bundle", metavar="BUNDLE")
    imp.set_defaults(handler=cmd_import)
    act = models.add_parser("activate", help="make an installed version the active one")
    act.add_argument("model_id", metavar="ID")
    act.add_argument("version", type=int, metavar="VERSION")
    act.set_defaults(handler=cmd_activate)
    deact = models.add_parser("deactivate", help="stop using a model (kept installed, "
                              "recorded; `models activate ID VERSION` brings it back)")
    deact.add_argument("model_id", metavar="ID")
    deact.set_defaults(handler=cmd_deactivate)
    rb = models.add_parser("rollback", help="re-activate the previous version")
    rb.add_argument("model_id", metavar="ID")
    rb.set_defaults(handler=cmd_rollback)

    trust = sub.add_parser("trust", help="trusted publisher keys").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    trust.add_parser("list", help="the trusted keys").set_defaults(handler=cmd_trust_list)
    add = trust.add_parser("add", help="trust a publisher key for some model ids")
    add.add_argument("public_key", metavar="PUBLIC_KEY_FILE")
    add.add_argument("--models", required=True, metavar="PATTERN", help="e.g. 'fraud-*'")
    add.add_argument("--name", default="", help="who the key belongs to")
    add.add_argument("--not-after", metavar="DATE",
                     help="YYYY-MM-DD: the last day (UTC) the key is trusted")
    add.set_defaults(handler=cmd_trust_add)
    rev = trust.add_parser("revoke", help="stop trusting a key")
    rev.add_argument("keyid", metavar="KEYID")
    rev.set_defaults(handler=cmd_trust_revoke)


def cmd_list(args, ws_root) -> tuple[int, dict]:
    reg = open_registry(ws_root)
    try:
        versions = [v.to_json() for v in reg.versions()]
    finally:
        reg.close()
    return 0, {"models": versions}


def cmd_show(args, ws_root) -> tuple[int, dict]:
    model_id, version = parse_ref(args.ref)
    reg = open_registry(ws_root)
    try:
        versions = [v.to_json() for v in reg.versions(model_id)
                    if version is None or v.version == version]
        if not versions:
            raise InputError(f"{args.ref} is not installed; `ratchet models list` shows what "
                             "is.", "E_MODEL_UNKNOWN")
        history = reg.activations(model_id)
    finally:
        reg.close()
    return 0, {"model_id": model_id, "versions": versions, "history": history}


def cmd_import(args, ws_root) -> tuple[int, dict]:
    from engine.registry.registry import read_bundle_file
    from engine.services.models import install

    data = read_bundle_file(Path(args.bundle))
    reg = open_registry(ws_root)
    try:
        model_id, version, status = install(reg, data)
    finally:
        reg.close()
    return 0, {"model_id": model_id, "version": version, "status": status}


def cmd_activate(args, ws_root) -> tuple[int, dict]:
    from engine.services.models import activate

    reg = open_registry(ws_root)
    try:
        status = activate(reg, args.model_id, args.version)
    finally:
        reg.close()
    return 0, {"model_id": args.model_id, "version": args.version, "status": status}


def cmd_deactivate(args, ws_root) -> tuple[int, dict]:
    from engine.services.models import deactivate

    reg = open_registry(ws_root)
    try:
        version = deactivate(reg, args.model_id)
    finally:
        reg.close()
    return 0, {"model_id": args.model_id, "version": version, "status": "deactivated"}


def cmd_rollback(args, ws_root) -> tuple[int, dict]:
    from engine.services.models import rollback

    reg = open_registry(ws_root)
    try:
        version, status = rollback(reg, args.model_id)
    finally:
        reg.close()
    return 0, {"model_id": args.model_id, "version": version, "status": status}


def _store(ws_root):
    from engine.bundle.trust import load_trust_store, trust_store_path
    from engine.ground.paths import Workspace

    return load_trust_store(trust_store_path(Workspace.open(ws_root).root))


def cmd_trust_list(args, ws_root) -> tuple[int, dict]:
    store = _store(ws_root)
    return 0, {"trust_store": str(store.path), "threshold": store.threshold,
               "keys": [{k: v for k, v in key.to_json().items() if k != "public_key"}
                        for key in store.keys]}


def cmd_trust_add(args, ws_root) -> tuple[int, dict]:
    import datetime as dt

    from engine.bundle.signing import key_id, load_public_key, raw_public
    from engine.bundle.trust import TrustedKey, parse_not_after

    public = load_public_key(Path(args.public_key))
    if not args.models.strip():
        raise InputError("--models needs a model id pattern such as 'fraud-*'.")
    not_after = None
    if args.not_after:
        not_after = parse_not_after(args.not_after, dt.datetime.now(dt.UTC))
    key = TrustedKey(key_id(public), raw_public(public), args.models, args.name, False,
                     not_after)
    store = _store(ws_root).with_key(key)
    store.save()
    return 0, {"keyid": key.keyid, "models": key.models, "trust_store": str(store.path)}


def cmd_trust_revoke(args, ws_root) -> tuple[int, dict]:
    store = _store(ws_root).revoked(args.keyid)
    store.save()
    revoked = [k.keyid for k in store.keys if k.revoked and k.keyid.startswith(args.keyid)]
    return 0, {"keyid": revoked[0], "revoked": True, "trust_store": str(store.path)}
