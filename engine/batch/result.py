"""What a batch prediction produced, as its provenance sidecar and history row record it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class BatchResult:
    model: str
    rows: int
    ok: int
    rejected: int
    input: str
    input_sha256: str
    output: str
    bundle_sha256: str
    started: str
    finished: str
    app_version: str
    output_sha256: str = ""
    batch_id: int | None = None  # its row in the workspace's history, when recorded
    # Explanation columns written (engine.batch.explain_cells); None: none. In the provenance
    # only (a batch settled after a crash has its provenance rewritten without it).
    explanations: dict | None = None

    def to_json(self) -> dict:
        return asdict(self)


def provenance_path(output: Path) -> Path:
    return output.with_name(output.name + ".provenance.json")


def provenance_bytes(result: BatchResult) -> bytes:
    return (json.dumps(result.to_json(), indent=2) + "\n").encode("utf-8")
