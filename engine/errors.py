"""Errors a user can act on, each with a stable code and a plain-language message."""

from __future__ import annotations

from typing import ClassVar


class EngineError(Exception):
    """An error the user can act on. `code` is stable (scripts match on it); `message` is plain."""

    code = "E_ENGINE"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def to_json(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


class Cancelled(Exception):
    """Raised by long operations when their cancel token was set."""


class CoefficientsInvalid(EngineError):
    """A coefficient file that does not follow ratchet-coefficients/1.

    `path` is the JSON path of the offending value (e.g. `$.estimator.trees[3].left[17]`).
    """

    code = "E_COEFFICIENTS_INVALID"

    def __init__(self, path: str, problem: str, source: str | None = None):
        where = f"{source}: " if source else ""
        super().__init__(
            f"{where}the coefficient file is not valid at {path}: {problem}. "
            "Re-export the model with `ratchet export` or ask its publisher for a fixed file."
        )
        self.path = path
        self.problem = problem


class UnsupportedModel(EngineError):
    """The publisher's scikit-learn object contains an estimator or step we cannot export."""

    code = "E_UNSUPPORTED_MODEL"


class InputError(EngineError):
    """A file or argument the user gave cannot be used (missing, unreadable, malformed)."""

    code = "E_INPUT"


class BundleRejected(EngineError):
    """A bundle that must not be installed. `category` picks the operator's plain message:

    - "damaged": the file is broken or altered (structure, sizes, hashes, limits);
    - "untrusted": not signed by a trusted publisher allowed to sign this model, right now;
    - "conflict": older than, or different from, a version already accepted;
    - "expired": past the expiry date its publisher set (a new bundle is needed).

    `code` is the precise reason (e.g. E_HASH_MISMATCH) for the details and the log.
    """

    code = "E_BUNDLE_REJECTED"
    HEADLINES: ClassVar[dict[str, str]] = {
        "damaged": "The bundle is damaged or has been altered; nothing was installed.",
        "untrusted": "The bundle is not from a trusted publisher; nothing was installed.",
        "conflict": "The bundle is older than, or conflicts with, a model already accepted; "
                    "nothing was installed.",
        "expired": "The bundle has expired; nothing was installed.",
    }

    def __init__(self, category: str, code: str, detail: str):
        if category not in self.HEADLINES:
            raise ValueError(f"unknown bundle rejection category {category!r}")
        detail = detail[:1].upper() + detail[1:]
        if detail and detail[-1] not in ".!?":
            detail += "."  # details come from many layers; the message reads as sentences
        super().__init__(f"{self.HEADLINES[category]} {detail}", code)
        self.category = category
        self.detail = detail
        self.headline = self.HEADLINES[category]
