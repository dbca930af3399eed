"""Model references on the command line and in labels: "ID" or "ID@VERSION"."""

from __future__ import annotations

from engine.errors import InputError


def parse_ref(ref: str) -> tuple[str, int | None]:
    """"ID" or "ID@VERSION"."""
    model_id, _, version = ref.partition("@")
    if not version:
        return model_id, None
    if not version.isdigit():
        raise InputError(f"{ref!r}: the version after '@' must be a whole number.")
    return model_id, int(version)
