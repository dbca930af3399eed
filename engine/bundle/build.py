"""Publisher side: assemble and sign a bundle from its three payload files (and its optional
quality_rules.json)."""

from __future__ import annotations

import datetime as dt

from engine.bundle.manifest import (
    MANIFEST,
    MODEL_ID,
    OPTIONAL_MEMBERS,
    PAYLOAD_MEMBERS,
    SIGNATURE,
    Manifest,
)
from engine.bundle.signing import sign_manifest
from engine.bundle.ziparchive import write_members
from engine.errors import EngineError, InputError
from engine.formats.cases import run_cases
from engine.formats.quality_rules import QUALITY_RULES, check_quality_rules
from engine.formats.requirements import check_requirements
from engine.ground.clock import build_time
from engine.model import load_coefficients

DEFAULT_LIFETIME = dt.timedelta(days=365)


def build_bundle(payload: dict[str, bytes], version: int, private_keys: list,
                 created: dt.datetime | None = None,
                 expires: dt.datetime | None = None) -> bytes:
    """The bytes of a signed bundle. Refuses content that the workstations would refuse."""
    if not set(PAYLOAD_MEMBERS) <= set(payload) <= {*PAYLOAD_MEMBERS, *OPTIONAL_MEMBERS}:
        raise InputError(f"a bundle needs exactly {', '.join(PAYLOAD_MEMBERS)}, and may hold "
                         f"{', '.join(OPTIONAL_MEMBERS)}.")
    if version < 1:
        raise InputError(f"the version must be a positive integer, not {version}.")
    created = (created or build_time()).replace(microsecond=0)
    expires = expires or created + DEFAULT_LIFETIME
    if expires <= created:
        raise InputError("the expiry date must come after the creation time.")
    model = load_coefficients(payload["coefficients.json"], name="coefficients.json")
    if not MODEL_ID.fullmatch(model.model_id):
        raise InputError(f"the model id {model.model_id!r} cannot be used in a bundle: use 1-64 "
                         "lower-case letters, digits, '.', '_' or '-', starting with a letter "
                         "or digit (re-export with another --model-id).", "E_MODEL_ID")
    check_requirements(payload["requirements.json"], model.task)
    if QUALITY_RULES in payload:
        check_quality_rules(payload[QUALITY_RULES], model.features)
    failed = [c for c in run_cases(payload["regression_cases.csv"], model) if not c.passed]
    if failed:
        raise EngineError(f"{len(failed)} regression case(s) fail with these coefficients; the "
                          f"first, row {failed[0].row}: {failed[0].detail}. Fix the cases or "
                          "the model before signing.", "E_REGRESSION_CASES_FAILED")
    manifest = Manifest.for_members(model.model_id, version, created, expires, payload)
    manifest_bytes = manifest.to_bytes()
    members = [(MANIFEST, manifest_bytes), (SIGNATURE, sign_manifest(manifest_bytes,
                                                                     private_keys))]
    members += [(name, payload[name]) for name in (*PAYLOAD_MEMBERS, *OPTIONAL_MEMBERS)
                if name in payload]
    return write_members(members, deflate=False)  # see verify.py: canonical archives
