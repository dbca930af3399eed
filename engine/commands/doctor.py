"""`ratchet doctor [--repair [BUNDLE ...]]`: check the workspace, repair what can be."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    doctor = sub.add_parser("doctor", help="check the workspace; --repair fixes what it can")
    doctor.add_argument("--repair", nargs="*", metavar="BUNDLE", default=None,
                        help="repair what can be repaired; BUNDLE files put back damaged or "
                             "missing installed bundles (verified first)")
    doctor.set_defaults(handler=cmd_doctor)


def cmd_doctor(args, ws_root) -> tuple[int, dict]:
    """Exit 0 when the workspace is healthy (after the repair, with --repair), 1 when
    something is still wrong: each finding says what, and what to do."""
    from engine.doctor.checks import run_checks
    from engine.ground.paths import Workspace, default_workspace

    ws = Workspace(Path(ws_root) if ws_root else default_workspace())
    if not ws.root.is_dir():
        from engine.errors import InputError

        raise InputError(f"there is no workspace at {ws.root}; check --workspace (or "
                         "RATCHET_HOME).", "E_NO_WORKSPACE")
    repaired: list[str] = []
    if args.repair is not None:
        from engine.doctor.repair import repair

        repaired = repair(ws, [Path(p) for p in args.repair])
    findings = run_checks(ws)
    result = {"workspace": str(ws.root), "healthy": not findings,
              "problems": [f.to_json() for f in findings]}
    if args.repair is not None:
        result["repaired"] = repaired
    return (0 if not findings else 1), result
