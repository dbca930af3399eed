"""Which challengers can be compared with a champion before anything runs: the same task,
target and classes, and every input the challenger reads present in the corpus. The Back-test
page and the Trial gate form offer only those, and list the others with the reason (so a
challenger never fails only after Run)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from engine.errors import EngineError
from engine.model import Model

SHOWN = 5  # missing columns named before "and N more"


def incomparable(champion: Model, challenger: Model, columns: Iterable[str] | None,
                 champion_label: str = "the champion") -> str | None:
    """Why `challenger` cannot be compared with `champion` on a corpus with `columns` (None:
    the corpus is not chosen yet, so only the models are compared); None when it can."""
    a, b = champion, challenger
    if a.task != b.task:
        return f"it is a {b.task} model, {champion_label} a {a.task} model"
    if a.target != b.target:
        return f"it predicts {b.target!r}, {champion_label} {a.target!r}"
    if list(map(str, a.classes)) != list(map(str, b.classes)):
        return (f"its classes {[str(c) for c in b.classes]} differ from {champion_label}'s "
                f"{[str(c) for c in a.classes]}")
    if columns is not None:
        have = set(columns)
        missing = [n for n in b.feature_names if n not in have]
        if missing:
            more = f" and {len(missing) - SHOWN} more" if len(missing) > SHOWN else ""
            return (f"the corpus lacks {len(missing)} of its input columns "
                    f"({', '.join(missing[:SHOWN])}{more})")
    return None


def _load(registry, spec: str | Path) -> tuple[Model, str]:
    if isinstance(spec, Path):
        from engine.backtest.contenders import bundle_contender

        contender = bundle_contender(registry, spec)
        return contender.model, contender.label
    return registry.load_model(spec)


def check_challengers(registry, champion: str, specs: list[str | Path],
                      columns: Iterable[str] | None) -> dict[str | Path, str | None]:
    """For the Back-test page: each challenger (an installed "ID@V" or a bundle file) against
    the champion `champion` ("ID@V"): None when comparable, else why not (a bundle that fails
    verification: its refusal)."""
    columns = None if columns is None else list(columns)
    base, label = registry.load_model(champion)
    out: dict[str | Path, str | None] = {}
    for spec in specs:
        try:
            model, _ = _load(registry, spec)
        except EngineError as exc:
            out[spec] = str(exc)
            continue
        out[spec] = incomparable(base, model, columns, label)
    return out


def check_candidates(registry, specs: list[str | Path],
                     columns: Iterable[str] | None) -> dict[str | Path, str | None]:
    """For the Trial gate: each candidate against its own champion (the active version of its
    model id): None when the gate can compare them, else why not."""
    from engine.registry.refs import parse_ref

    columns = None if columns is None else list(columns)
    out: dict[str | Path, str | None] = {}
    for spec in specs:
        try:
            model, label = _load(registry, spec)
        except EngineError as exc:
            out[spec] = str(exc)
            continue
        model_id = parse_ref(label)[0]
        active = registry.active_version(model_id)
        if active is None:
            out[spec] = f"no version of {model_id} is active here, so it has no champion"
            continue
        champion_label = f"{model_id}@{active}"
        if champion_label == label:
            out[spec] = "it is the active version: the champion itself"
            continue
        champion, _ = registry.load_model(champion_label)
        out[spec] = incomparable(champion, model, columns, champion_label)
    return out
