"""The error for a model that cannot be explained (an older coefficient file, a leaf kind
TreeSHAP does not cover)."""

from __future__ import annotations

from engine import __version__
from engine.errors import EngineError

CODE = "E_NO_EXPLANATION"


class ExplanationUnavailable(EngineError):
    code = CODE


def unavailable(what: str) -> ExplanationUnavailable:
    """Explaining needs numbers an older export did not write (`what`: e.g. "no node covers")."""
    return ExplanationUnavailable(
        f"explanations are unavailable for this model version: its coefficient file has "
        f"{what}; re-export it with ratchet >= {__version__} (predictions are unaffected).")
