"""Starting a trial from a gate run already made: allowed only when that run accepted exactly
this candidate (the same bundle bytes) in the situation of today (the same champion, corpus,
choices, requirements and pinned outliers), so no trial starts on a verdict that no longer
holds."""

from __future__ import annotations

from pathlib import Path

from engine.errors import InputError
from engine.trial.gate_result import GateResult
from engine.trial.store import get_gate


def reusable_gate(registry, gate_id: int, candidate, corpus, time_column: str, by: str,
                   latest, margin: float | None, tolerance: float,
                   timezone: str | None) -> GateResult:
    """The stored gate run `gate_id`, when it accepted exactly this candidate in the situation
    of today; else InputError naming everything that differs."""
    from engine.regression.outliers import list_pinned
    from engine.trial.candidate import candidate_requirements, champion_of

    doc = get_gate(registry.db, gate_id)
    if doc is None:
        raise InputError(f"there is no gate run {gate_id} in this workspace; run the gate "
                         "(leave out --gate).", "E_NO_GATE")
    gate = GateResult.from_json(doc)
    if not gate.accepted:
        raise InputError(f"gate run {gate_id} rejected {gate.candidate}; only an accepting "
                         "gate run can start a trial.", "E_GATE_NOT_REUSABLE")
    champion = champion_of(registry, candidate)
    reqs = candidate_requirements(registry, candidate, champion)
    now = [(r.metric, r.applies, r.bound_name, r.bound) for r in reqs]
    then = [(r["metric"], r["applies"], r["bound_name"], r["bound"]) for r in gate.requirements]
    pinned_then = doc.get("suite", {}).get("cases", {}).get("pinned")

    def path(value) -> Path | None:  # the same file however it is written
        return None if value is None else Path(value).resolve()

    differs = [what for what, same in (
        (f"the bundle ({candidate.label}, sha256 {candidate.bundle_sha256[:12]}…; the gate "
         f"ran on {gate.candidate}, sha256 {gate.bundle_sha256[:12] or 'not recorded'}…)",
         bool(gate.bundle_sha256) and gate.bundle_sha256 == candidate.bundle_sha256),
        (f"the champion ({champion.label} is active; the gate ran against {gate.champion})",
         champion.label == gate.champion),
        (f"the corpus ({corpus}; the gate used {gate.corpus})", path(corpus) == path(gate.corpus)),
        (f"the time column ({time_column}; the gate used {gate.time_column})",
         time_column == gate.time_column),
        (f"the partitions ({by}; the gate used {gate.by})", by == gate.by),
        (f"the time zone ({timezone}; the gate used {gate.backtest.timezone})",
         timezone == gate.backtest.timezone),
        (f"the latest data ({latest}; the gate used {gate.latest})",
         path(latest) == path(gate.latest)),
        (f"the margin ({margin}; the gate used {gate.margin})", margin == gate.margin),
        (f"the tolerance ({tolerance}; the gate used {gate.tolerance})",
         tolerance == gate.tolerance),
        ("the requirements (they changed since the gate ran)", now == then),
        ("the pinned outlier cases (some were pinned or unpinned since the gate ran)",
         pinned_then is None or pinned_then == len(list_pinned(registry.db,
                                                               candidate.model_id))),
    ) if not same]
    if differs:
        raise InputError(f"gate run {gate_id} cannot start this trial: it differs in "
                         + "; ".join(differs) + ". Run the gate again (leave out --gate).",
                         "E_GATE_NOT_REUSABLE")
    return gate
