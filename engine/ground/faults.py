"""Named write steps where tests inject faults deterministically.

Code that changes files or the database calls `step("area.what-just-happened")` between its
writes. Normally that is a dictionary look-up and nothing else. Tests use it two ways:

- in-process: `faults.hooks["predict.scored"] = fn` runs `fn` at exactly that step (raise an
  OSError there, or run a competing writer);
- across processes: `RATCHET_KILL_AT=predict.scored` (or `NAME#N` for its N-th occurrence) in
  a child's environment makes that process SIGKILL itself at that step, as a power cut or
  `kill -9` would, so the fault suite can check what every step leaves behind;
  `RATCHET_KILL_SIGNAL=TERM` (or INT, HUP) sends that signal instead, as an operator would.

`STEPS` lists every step, so the fault suite can kill at each one and notice a new one.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

STEPS = (
    "predict.chunk-written",      # one chunk of output written to the temporary file
    "predict.scored",             # the temporary output complete and synced
    "predict.pending-recorded",   # the history row committed as pending
    "predict.output-in-place",    # the output renamed into place, provenance not yet
    "predict.provenance-in-place",  # both in place, history row not yet marked done
    "import.bundle-written",      # the verified bundle file in models/, nothing recorded
    "import.state-raised",        # the rollback state raised, database not yet committed
    "activate.recorded",          # an activation written inside its transaction
    "rollback.requirements-restored",  # a rollback's requirement steps written, not committed
    "ratchet.steps-written",      # ratchet steps written inside their transaction
    "watch.claimed",              # a watched file claimed
    "watch.nowtest-recorded",     # its now-test recorded, the claim not yet settled
)

hooks: dict[str, Callable[[], None]] = {}
_counts: dict[str, int] = {}


def _kill_target() -> tuple[str, int]:
    spec = os.environ.get("RATCHET_KILL_AT", "")
    name, _, nth = spec.partition("#")
    return name, int(nth) if nth.isdigit() else 1


def step(name: str) -> None:
    """Mark that the write step `name` has just happened (see the module docstring)."""
    hook = hooks.get(name)
    if hook is not None:
        hook()
    target, nth = _kill_target()
    if target == name:
        _counts[name] = _counts.get(name, 0) + 1
        if _counts[name] == nth:
            how = os.environ.get("RATCHET_KILL_SIGNAL", "KILL")
            os.kill(os.getpid(), getattr(signal, f"SIG{how}"))
