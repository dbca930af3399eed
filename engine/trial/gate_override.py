"""Accepting a candidate anyway over a gate run that rejected it because it misses a bound the
champion itself misses (gate_checks.champion_misses). Nothing is silent: the acceptance is a
gate run of its own in the history, verdict accept with `forced` (the reason, who, when, the
run it overrode) and every check it overrode in its reasons; a trial then starts from it as
from any accepting run (gate_reuse), so the same bytes, champion and setup are still required.

It is refused when the candidate does not beat the champion, is worse than the tolerance in a
partition, or fails a regression case: only the bounds the champion misses too are overridden.
The other way forward, lowering the bound with a reason, is a requirement step
(engine.services.requirements.set_bound with override) followed by a new gate run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from engine.errors import InputError
from engine.ground.clock import current_user, now_text
from engine.ground.fileio import write_atomic
from engine.trial.gate_result import ACCEPT, GateResult
from engine.trial.store import get_gate, record_gate

NOT_OVERRIDDEN = ("beats the champion", "tolerance")


def overridable(result: GateResult) -> list[str]:
    """Why `result` cannot be accepted anyway (empty: it can)."""
    why = []
    if result.accepted:
        why.append(f"gate run {result.id} accepted {result.candidate} already")
    if not result.champion_misses:
        why.append("the champion meets every requirement the candidate misses, so there is "
                   "no bound to set aside")
    why += [f"the check '{c.name}' failed ({c.detail})" for c in result.checks
            if not c.passed and c.name in NOT_OVERRIDDEN]
    failed_cases = [c for c in result.suite.cases if not c.passed]
    if failed_cases:
        why.append(f"{len(failed_cases)} regression case(s) failed")
    return why


def accept_anyway(registry, gate_id: int, why: str) -> GateResult:
    """Record the acceptance of gate run `gate_id`'s candidate over its rejection; the new gate
    run (with its report) is returned. InputError when the run cannot be overridden or no
    reason is given."""
    from engine.trial.gate import default_report
    from engine.trial.gate_report import render

    if not why or not why.strip():
        raise InputError("accepting a rejected candidate anyway needs a reason; it is recorded "
                         "with the acceptance.", "E_REASON_REQUIRED")
    doc = get_gate(registry.db, gate_id)
    if doc is None:
        raise InputError(f"there is no gate run {gate_id} in this workspace.", "E_NO_GATE")
    result = GateResult.from_json(doc)
    refused = overridable(result)
    if refused:
        raise InputError(f"gate run {gate_id} of {result.candidate} cannot be accepted anyway: "
                         + "; ".join(refused) + ". Run the gate again once that changes.",
                         "E_GATE_NOT_OVERRIDABLE")
    user, at = current_user(), now_text()
    overrode = [c.detail for c in result.checks if not c.passed]
    sentence = (f"Accepted anyway by {user} at {at}, over gate run {gate_id}'s rejection: "
                f"{why.strip()}. The champion {result.champion} misses the same bound(s) "
                f"({', '.join(m['metric'] for m in result.champion_misses)}); what was set "
                "aside follows.")
    forced = {"why": why.strip(), "user": user, "at": at, "overrides": gate_id,
              "overrode": overrode}
    path = default_report(registry, result.candidate)
    path = path.with_name(f"{path.stem}-accepted-anyway.html")
    accepted = replace(result, verdict=ACCEPT, reasons=[sentence, *overrode], at=at, id=None,
                       report=str(path), forced=forced)
    write_atomic(Path(path), render(accepted).encode("utf-8"))
    return replace(accepted, id=record_gate(registry.db, accepted))
