"""Handlers of the `ratchet` subcommands, one module per group. A handler parses its arguments,
calls a workstation service (engine.services) and shapes what is printed; the use case itself
lives in the service, where the app's tasks (gui/tasks) call it too.

They import the engine lazily, inside each handler, so that `ratchet --help` or a publisher
command does not pay for loading the predictor and its compiled kernel.
"""

import sys


def open_registry(ws_root):
    """The model registry of the workspace chosen by --workspace (or the default)."""
    from engine.registry.registry import Registry

    return Registry.open(ws_root)


def progress_to_stderr(fraction: float, message: str) -> None:
    """The services' progress hook on a terminal: one line on stderr, rewritten in place
    (nothing when stderr is a file or a pipe, so scripts and logs stay clean)."""
    if sys.stderr.isatty():
        print(f"\r{fraction:6.1%}  {message}\033[K", end="", file=sys.stderr, flush=True)


def end_progress() -> None:
    """Finish the progress line, so what follows starts on a line of its own."""
    if sys.stderr.isatty():
        print(file=sys.stderr)
