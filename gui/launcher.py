"""Entry point of the ``ratchet`` console script.

``ratchet`` with no command, or ``ratchet gui [--smoke SECONDS] [--import FILE.ratchet]
[--predict FILE.csv]``, opens the desktop app; ``ratchet FILE.ratchet`` (how the desktop opens a
double-clicked bundle) opens it on that bundle's import: verified first, then the operator is
asked; ``ratchet FILE.csv`` opens it on the Predict page. When an app already runs on the
workspace, the launch hands its file to it and exits (gui/single_instance.py). Every other
command is handed, untouched, to :func:`engine.cli.main`. Qt is imported only on the GUI path,
so headless commands (cron jobs, CI, servers without a display) never load it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Global options that may precede the command: name -> whether it takes a value.
GLOBAL_OPTIONS = {"--workspace": True, "--json": False}
BUNDLE_SUFFIX = ".ratchet"
CSV_SUFFIXES = (".csv", ".tsv", ".txt")


def split_global_options(argv: list[str]) -> tuple[list[str], list[str]]:
    """Split leading global options from the command and its arguments.

    Raises ValueError when an option that needs a value has none.
    """
    i = 0
    while i < len(argv):
        name = argv[i].split("=", 1)[0]
        if name not in GLOBAL_OPTIONS:
            break
        if GLOBAL_OPTIONS[name] and "=" not in argv[i]:
            if i + 1 >= len(argv):
                raise ValueError(f"option {name} needs a value")
            i += 1
        i += 1
    return argv[:i], argv[i:]


def _gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ratchet gui", description="Open the desktop app.")
    parser.add_argument(
        "--smoke",
        type=float,
        metavar="SECONDS",
        help="quit SECONDS after the window is ready (workspace opened, pages built) with "
             "exit code 0 (checks that the app starts)",
    )
    parser.add_argument(
        "--import",
        dest="bundle",
        metavar="FILE.ratchet",
        help="open the Models page on this bundle: it is verified, then you are asked",
    )
    parser.add_argument(
        "--predict",
        dest="csv",
        metavar="FILE.csv",
        help="open the Predict page on this file: it is checked against the model",
    )
    return parser


def gui_arguments(rest: list[str]) -> list[str] | None:
    """The `gui` command's arguments when ``rest`` (the arguments after the global options)
    opens the app, else None. A lone bundle path, as a file manager passes a double-clicked
    ``.ratchet`` file, means ``gui --import PATH``; a lone CSV file, ``gui --predict PATH``."""
    if not rest:
        return []
    if rest[0] == "gui":
        return rest[1:]
    if len(rest) == 1 and rest[0].lower().endswith(BUNDLE_SUFFIX):
        return ["--import", rest[0]]
    if len(rest) == 1 and rest[0].lower().endswith(CSV_SUFFIXES):
        return ["--predict", rest[0]]
    return None


def _no_display() -> bool:
    """True on Linux when Qt would abort for lack of a screen (rather than fail politely)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def one_blas_thread() -> None:
    """OpenBLAS with one thread, unless the user asked for more (before numpy is imported).

    Ratchet's parallelism is its own (the back-test's scoring threads, the app's workers); the
    matrices it hands to BLAS are small (the multivariate drift's SVD of a few thousand
    reference rows, its per-row projections), and there OpenBLAS's threads only wait on each
    other and on ours: on this 2-core machine under load, the reference's first SVD took
    0.1-0.7 s with OpenBLAS's default threads and 3 ms with one (issue 16)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main(argv: list[str] | None = None) -> int:
    one_blas_thread()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        _global, rest = split_global_options(argv)
    except ValueError as exc:
        print(f"ratchet: {exc}.", file=sys.stderr)
        return 2

    gui_argv = gui_arguments(rest)
    if gui_argv is None:
        from engine.cli import main as cli_main

        return cli_main(argv)

    try:
        args = _gui_parser().parse_args(gui_argv)
    except SystemExit as exc:  # argparse reports usage errors by exiting
        return int(exc.code or 0)
    if args.smoke is not None and args.smoke < 0:
        print("ratchet gui: --smoke needs a number of seconds >= 0.", file=sys.stderr)
        return 2
    bundle = Path(args.bundle).resolve() if args.bundle else None
    if bundle is not None and not bundle.is_file():
        print(f"ratchet: cannot open the bundle {args.bundle}: there is no such file. Check "
              "the path (a model bundle is a FILE.ratchet from its publisher).", file=sys.stderr)
        return 2
    csv = Path(args.csv).resolve() if args.csv else None
    if csv is not None and not csv.is_file():
        print(f"ratchet: cannot open {args.csv}: there is no such file. Check the path.",
              file=sys.stderr)
        return 2

    if _no_display():
        print(
            "ratchet: no display found (neither DISPLAY nor WAYLAND_DISPLAY is set). Start it "
            "from a desktop session, or set QT_QPA_PLATFORM=offscreen for a headless check.",
            file=sys.stderr,
        )
        return 2

    root = _workspace_root(_global)
    if args.smoke is None:  # a smoke run checks that an app starts: it never hands over
        code = _hand_over(root, bundle, csv)
        if code is not None:
            return code
    # The window comes first: the workspace is opened (checks, the demo model on first start)
    # in a worker once the window is up (gui/app.py).
    from gui.app import run_app  # imports Qt

    return run_app([sys.argv[0] if sys.argv else "ratchet"], smoke_seconds=args.smoke,
                   workspace=root, bundle=bundle, csv=csv)


def _hand_over(root: Path, bundle: Path | None, csv: Path | None) -> int | None:
    """The exit code when an app already runs on ``root`` (it was given the file, or did not
    answer); None when this launch is to become the app."""
    from gui.instance_name import nobody_listens

    if nobody_listens(root):  # no socket file: no app to ask, and no QtNetwork to load
        return None
    from gui.single_instance import Handover, hand_over  # QtNetwork, no window

    request = {"import": str(bundle)} if bundle else {"predict": str(csv)} if csv \
        else {"show": True}
    outcome = hand_over(root, request)
    if outcome is Handover.SENT:
        print(f"ratchet: the app already running on {root} took it over.", file=sys.stderr)
        return 0
    if outcome is Handover.NO_ANSWER:
        print(f"ratchet: an app is already running on {root} but did not answer. Bring it "
              "to the front from its tray icon or window, or quit it and try again.",
              file=sys.stderr)
        return 1
    return None


def _workspace_root(global_options: list[str]) -> Path:
    root = None
    for i, opt in enumerate(global_options):
        if opt.startswith("--workspace="):
            root = Path(opt.split("=", 1)[1])
        elif opt == "--workspace":
            root = Path(global_options[i + 1])
    if root is not None:
        return root
    from engine.ground.paths import default_workspace  # platformdirs: only when needed

    return default_workspace()


if __name__ == "__main__":
    sys.exit(main())
