"""Which model a file is for, when none is named: the header rule, and deactivation.

Several models can be installed side by side, each with its own active version. A command or
page that needs a model for a file and is given none takes the one active model whose inputs
the file's header covers. When several fit, it asks (E_MODEL_AMBIGUOUS, naming them and
`--model`); when none fits, it says which columns each model lacks (E_NO_MODEL_FITS). A model
can be deactivated (kept installed, recorded in its history as "deactivate"): it is then never
chosen by default, and naming it says so. `models activate ID VERSION` brings it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.batch.csv_input import open_csv
from engine.errors import InputError
from engine.ground.database import write_transaction
from engine.model import load_coefficients

SHOWN_COLUMNS = 8  # missing columns named per model before "and N more"

_INPUTS: dict[str, tuple[str, ...]] = {}  # bundle sha256 -> the model's input names


@dataclass(frozen=True, slots=True)
class ActiveModel:
    model_id: str
    version: int
    inputs: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.model_id}@{self.version}"

    def missing(self, header) -> list[str]:
        have = set(header)
        return [c for c in self.inputs if c not in have]


def model_inputs(registry, label: str) -> tuple[str, ...]:
    """The input columns of an installed version (cached by its bundle's hash)."""
    sha = registry.bundle_sha256(label)
    if sha not in _INPUTS:
        model = load_coefficients(registry.bundle_members(label)["coefficients.json"])
        _INPUTS[sha] = tuple(model.feature_names)
    return _INPUTS[sha]


def active_models(registry) -> list[ActiveModel]:
    """Every model with an active version (deactivated ones are not), by model id."""
    rows = registry.db.execute("SELECT model_id, version FROM active ORDER BY model_id")
    return [ActiveModel(r["model_id"], r["version"],
                        model_inputs(registry, f"{r['model_id']}@{r['version']}"))
            for r in rows.fetchall()]


def _names(columns: list[str]) -> str:
    shown = ", ".join(map(repr, columns[:SHOWN_COLUMNS]))
    more = len(columns) - SHOWN_COLUMNS
    return shown + (f" and {more} more" if more > 0 else "")


def fitting_models(registry, header) -> tuple[list[ActiveModel], list[ActiveModel]]:
    """(the active models whose inputs the header covers, all active models)."""
    models = active_models(registry)
    return [m for m in models if not m.missing(header)], models


def resolve_for_columns(registry, header, source: str = "the file") -> str:
    """The model id for a file with these columns when no model is named (see the module's
    rule). The only active model is chosen whatever the header: using it names the columns it
    lacks, as it always has."""
    fits, models = fitting_models(registry, header)
    if not models:
        deactivated = deactivated_models(registry)
        extra = (f" ({', '.join(deactivated)} installed but deactivated: `ratchet models "
                 "activate ID VERSION` brings one back)") if deactivated else ""
        raise InputError(f"no model is active{extra}; import a bundle with `ratchet models "
                         "import BUNDLE`.", "E_NO_ACTIVE_MODEL")
    if len(models) == 1:
        return models[0].model_id
    if len(fits) == 1:
        return fits[0].model_id
    if fits:
        names = ", ".join(m.label for m in fits)
        raise InputError(f"{source} has the inputs of several models ({names}), so which one "
                         "to use is not clear; choose one with --model ID (in the app: choose "
                         "the model).", "E_MODEL_AMBIGUOUS")
    lacks = "; ".join(f"{m.label} lacks {_names(m.missing(header))}" for m in models)
    raise InputError(f"{source} does not have the input columns of any active model: {lacks}. "
                     "Check that this is the right file, or name the model with --model ID.",
                     "E_NO_MODEL_FITS")


def model_for_file(registry, path, model_ref: str | None = None) -> str | None:
    """The model reference to use for the CSV at `path`: `model_ref` when one is named; when
    several models are active, the one the file's header fits (resolve_for_columns); else
    None (the only active model, which names the columns it lacks when used)."""
    if model_ref is not None:
        return model_ref
    count = registry.db.execute("SELECT COUNT(*) FROM active").fetchone()[0]
    if count <= 1:
        return None
    return resolve_for_columns(registry, open_csv(Path(path)).header, str(path))


# -- deactivation ---------------------------------------------------------------------------
def deactivated_models(registry) -> list[str]:
    """Installed models with no active version, by id."""
    rows = registry.db.execute("SELECT DISTINCT model_id FROM installed WHERE model_id NOT IN "
                               "(SELECT model_id FROM active) ORDER BY model_id")
    return [r["model_id"] for r in rows.fetchall()]


def last_deactivation(registry, model_id: str) -> dict | None:
    """The history row that deactivated the model, when it is deactivated now."""
    if registry.active_version(model_id) is not None:
        return None
    row = registry.db.execute("SELECT * FROM activations WHERE model_id = ? AND action = "
                              "'deactivate' ORDER BY id DESC LIMIT 1", (model_id,)).fetchone()
    return None if row is None else dict(row)


def deactivated_refusal(registry, model_id: str) -> InputError | None:
    """The error for naming a deactivated model without a version; None when it is not."""
    row = last_deactivation(registry, model_id)
    if row is None:
        return None
    return InputError(f"the model {model_id!r} is deactivated (version {row['version']}, by "
                      f"{row['user']} at {row['at']}), so it is not used; reactivate it with "
                      f"`ratchet models activate {model_id} {row['version']}` (or in the app's "
                      "Models page).", "E_MODEL_DEACTIVATED")


def deactivate(registry, model_id: str) -> int:
    """Stop using a model: it stays installed with its history, has no active version any
    more, and the deactivation is recorded. Returns the version that was active."""
    with write_transaction(registry.db):
        version = registry.active_version(model_id)
        if version is None:
            refusal = deactivated_refusal(registry, model_id)
            if refusal is not None:
                raise InputError(f"the model {model_id!r} is already deactivated; `ratchet "
                                 "models show` shows its history.", "E_MODEL_DEACTIVATED")
            raise InputError(f"the model {model_id!r} is not installed; `ratchet models list` "
                             "shows what is.", "E_MODEL_UNKNOWN")
        sha = registry.bundle_sha256(f"{model_id}@{version}")
        registry.db.execute("DELETE FROM active WHERE model_id = ?", (model_id,))
        registry.record_activation(model_id, version, version, "deactivate", sha)
    return version
