"""The watch folders and the model each is bound to (the setting `watch.folders`), in one place:
parsing what a person typed, checking the bound models are installed, and the list the
watchers run on (`watch.folders` plus the older one-folder setting `watch.folder`).

Stored, the value is a list of {"folder": absolute path, "model": model id or null}; null is
"by the file's header" (engine.registry.choice: the one active model whose inputs the header
covers). Typed (`ratchet settings set watch.folders ...`), it is `FOLDER=MODEL` entries
separated by `;` or new lines, where a FOLDER alone (or `FOLDER=*`) is "by header"; a JSON list
of such objects is accepted too (the Settings page sends that: any path survives it). The
empty text means no folders. `watch.folder`, when set, is one more folder, by header, unless
`watch.folders` already lists it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from engine.errors import InputError

KEY = "watch.folders"
BY_HEADER = "*"
BY_HEADER_TEXT = "any model (by the file's header)"
_SYNTAX = ("give FOLDER=MODEL entries separated by ';' (a FOLDER alone, or FOLDER=*, is "
           "now-tested with the model its header fits), e.g. "
           "\"/in/flights=demo-flight-delay;/in/sensors=sensor-x\" (empty: no folders)")


@dataclass(frozen=True, slots=True)
class WatchBinding:
    """One watched folder and the model its files are now-tested with (None: by header)."""

    folder: str
    model: str | None = None

    @property
    def model_text(self) -> str:
        return self.model or BY_HEADER_TEXT

    def to_json(self) -> dict:
        return {"folder": self.folder, "model": self.model}


def _bad(text: str, what: str) -> InputError:
    shown = "that list" if text.strip().startswith("[") else repr(text)  # the page's JSON
    return InputError(f"the setting {KEY} cannot be {shown}: {what}.", "E_SETTING_VALUE")


def _entries(text: str) -> list[tuple[str, str | None]]:
    """(folder text, model text or None) of each entry typed."""
    t = text.strip()
    if t.startswith("["):
        try:
            doc = json.loads(t)
        except ValueError as exc:
            raise _bad(text, f"it is not a valid JSON list ({exc}); {_SYNTAX}") from None
        if not fits(doc, strict=False):
            raise _bad(text, 'a JSON list needs objects {"folder": "...", "model": "..." or '
                       f"null}}; or {_SYNTAX}")
        return [(d["folder"], d.get("model")) for d in doc]
    out = []
    for part in t.replace("\n", ";").split(";"):
        if not part.strip():
            continue
        folder, sep, model = part.rpartition("=") if "=" in part else (part, "", None)
        if sep and not folder.strip():
            raise _bad(text, f"the entry {part.strip()!r} has no folder before '='; {_SYNTAX}")
        out.append((folder, model))
    return out


def _model(text: str, raw: str | None) -> str | None:
    model = (raw or "").strip()
    if model in ("", BY_HEADER):
        return None
    if "@" in model or any(c.isspace() for c in model) or "=" in model:
        raise _bad(text, f"{model!r} is not a model id: give the id alone (the folder uses "
                   "the model's active version), as `ratchet models list` shows it")
    return model


def parse_folders(text: str) -> list[dict]:
    """The stored value for the typed `text`: each folder must exist (it is made absolute) and
    be listed once. Whether the models are installed: check_models (it needs the workspace)."""
    bindings: list[WatchBinding] = []
    for folder_text, model_text in _entries(text):
        path = Path(folder_text.strip()).expanduser()
        if not path.is_dir():
            raise _bad(text, f"the folder {folder_text.strip()!r} does not exist; create it "
                       "first or give an existing folder")
        folder = str(path.resolve())
        if any(b.folder == folder for b in bindings):
            raise _bad(text, f"the folder {folder} is listed twice; list each folder once, "
                       "with the one model its files are for")
        bindings.append(WatchBinding(folder, _model(text, model_text)))
    return [b.to_json() for b in bindings]


def fits(value: object, strict: bool = True) -> bool:
    """Whether a stored value has the shape of `watch.folders` (loading keeps it)."""
    if not isinstance(value, list):
        return False
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("folder"), str):
            return False
        model = item.get("model")
        if model is not None and not isinstance(model, str):
            return False
        if strict and not item["folder"]:
            return False
    return True


def format_folders(value: object) -> str:
    """The typed form of a stored value ("FOLDER=MODEL;FOLDER=*")."""
    return ";".join(f"{b.folder}={b.model or BY_HEADER}" for b in _bindings(value))


def _bindings(value: object) -> list[WatchBinding]:
    if not fits(value):
        return []
    return [WatchBinding(d["folder"], d.get("model") or None) for d in value]  # type: ignore


def installed_models(root: Path | str | None) -> list[str]:
    """The ids of the models installed in the workspace (deactivated ones too)."""
    from engine.ground.database import connect
    from engine.ground.paths import Workspace

    conn = connect(Workspace.open(root).database)
    try:
        rows = conn.execute("SELECT DISTINCT model_id FROM installed ORDER BY model_id")
        return [r["model_id"] for r in rows.fetchall()]
    finally:
        conn.close()


def check_models(root: Path | str | None, value: object) -> None:
    """Refuse (E_MODEL_UNKNOWN) a folder bound to a model this workspace has not installed."""
    wanted = [b for b in _bindings(value) if b.model is not None]
    if not wanted:
        return
    have = installed_models(root)
    for binding in wanted:
        if binding.model not in have:
            listed = ", ".join(have) if have else "none yet"
            raise InputError(
                f"the setting {KEY} cannot bind the folder {binding.folder} to the model "
                f"{binding.model!r}: it is not installed (installed: {listed}). `ratchet "
                "models list` shows the installed models; import one with `ratchet models "
                "import BUNDLE`, or bind the folder to * (by the file's header).",
                "E_MODEL_UNKNOWN")


def watch_bindings(settings: dict) -> list[WatchBinding]:
    """Every folder to watch with its model: `watch.folders`, then `watch.folder` (by header)
    unless it is listed there already."""
    out = _bindings(settings.get(KEY))
    single = str(settings.get("watch.folder") or "")
    if single and not any(b.folder == single for b in out):
        out.append(WatchBinding(single, None))
    return out
