"""Canonical JSON for signed documents: one byte sequence per value, no floats.

Signatures cover bytes, so the manifest has exactly one acceptable spelling: keys sorted, no
insignificant white space, UTF-8, integers only (floats have several spellings), no duplicate
keys. `parse_canonical` refuses anything else, so what was signed is what is read.
"""

from __future__ import annotations

import json
from typing import Any


class NotCanonical(ValueError):
    """The bytes are not the canonical spelling of a JSON value (the reason says why)."""


def dumps(value: Any) -> bytes:
    _check_types(value, "$")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _check_types(value: Any, path: str) -> None:
    if isinstance(value, float):
        raise NotCanonical(f"{path} is a float; signed documents carry integers or strings")
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise NotCanonical(f"{path} has a non-string key")
            _check_types(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_types(v, f"{path}[{i}]")
    elif not (value is None or isinstance(value, bool | int | str)):
        raise NotCanonical(f"{path} holds a {type(value).__name__}")


def _no_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise NotCanonical(f"the key {key!r} appears twice")
        seen[key] = value
    return seen


def _no_float(text: str):
    raise NotCanonical(f"the number {text} is not an integer")


def _no_constant(name: str):
    raise NotCanonical(f"{name} is not JSON")


def parse_canonical(data: bytes) -> Any:
    """Parse bytes that must be exactly `dumps(value)`; raise NotCanonical otherwise."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotCanonical("it is not UTF-8 text") from exc
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_no_float,
                           parse_constant=_no_constant)
    except NotCanonical:
        raise
    except json.JSONDecodeError as exc:
        raise NotCanonical(f"it is not valid JSON ({exc.msg} at character {exc.pos})") from exc
    except (ValueError, RecursionError) as exc:  # a 5,000-digit number, nesting 10,000 deep
        raise NotCanonical(f"it is not usable JSON ({type(exc).__name__})") from None
    if dumps(value) != data:
        raise NotCanonical("it is not in canonical form (sorted keys, no spaces)")
    return value


def parse_strict(data: bytes) -> Any:
    """Parse JSON that need not be canonical but must not repeat a key or hold NaN."""
    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates,
                          parse_constant=_no_constant)
    except NotCanonical:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotCanonical(f"it is not valid UTF-8 JSON ({exc})") from exc
    except (ValueError, RecursionError) as exc:  # a 5,000-digit number, nesting 10,000 deep
        raise NotCanonical(f"it is not usable JSON ({type(exc).__name__})") from None
