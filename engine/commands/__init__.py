"""Handlers of the `ratchet` subcommands, one module per group."""
