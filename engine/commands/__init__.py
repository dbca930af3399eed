"""Handlers of the `ratchet` subcommands, one module per group.

They import the engine lazily, inside each handler, so that `ratchet --help` or a publisher
command does not pay for loading the predictor and its compiled kernel.
"""


def open_registry(ws_root):
    """The model registry of the workspace chosen by --workspace (or the default)."""
    from engine.registry.registry import Registry

    return Registry.open(ws_root)
