"""`ratchet doctor`: what is wrong with a workspace, and the repair of what can be repaired.

The checks (engine.doctor.checks) read and never change anything: the database (present,
SQLite's integrity check, every table of the schema), each installed bundle against the hash
recorded when it was verified, bundle files nothing records (an import that was stopped), the
trust store, the settings, the rollback state, and what killed runs left behind (temporary
files, batches left pending). `--repair` (engine.doctor.repair) fixes each finding that has a
repair, and never discards history: a damaged database is kept beside the new one, which gets
every row that can still be read and the installed models rebuilt from their bundle files.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong. `repair` says what `--repair` would do ("" when it cannot: then
    `message` says what a person must do)."""

    code: str
    subject: str
    message: str
    repair: str = ""

    def to_json(self) -> dict:
        return {"code": self.code, "subject": self.subject, "message": self.message,
                "repair": self.repair}
