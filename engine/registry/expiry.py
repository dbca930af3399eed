"""A model's expiry: the date its publisher set (`ratchet bundle build --expires`) after which
this workstation stops scoring with it.

From WARN_BEFORE (30 days) before that date every use logs a warning with the date and the days
left; after it every use is refused (ModelExpired, E_MODEL_EXPIRED) unless the workstation
setting `models.allow_expired` is true, in which case the use goes ahead and is recorded as a
warning in the workspace log. The policy itself (`expiry_status`) is a pure function of the
expiry and the time; `now()` is the clock every use reads, and the one tests replace.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from engine.bundle.manifest import parse_time
from engine.errors import EngineError

log = logging.getLogger(__name__)

WARN_BEFORE = dt.timedelta(days=30)
ALLOW_SETTING = "models.allow_expired"


def now() -> dt.datetime:
    """The time a model's use is judged at (tests replace this function)."""
    return dt.datetime.now(dt.UTC)


class ExpiryState(StrEnum):
    OK = "ok"
    WARNING = "warning"  # within WARN_BEFORE of the expiry: still scores, with a warning
    EXPIRED = "expired"  # past it: refused unless the workstation allows expired models


class ModelExpired(EngineError):
    """A model past its bundle's expiry, and the workstation does not allow expired models."""

    code = "E_MODEL_EXPIRED"


@dataclass(frozen=True, slots=True)
class Expiry:
    label: str  # model@version
    state: ExpiryState
    expires: dt.datetime
    days_left: int  # whole days until the expiry (negative once past it)
    allowed_expired: bool = False  # used past its expiry because models.allow_expired is set

    @property
    def when(self) -> str:
        return f"{self.expires:%Y-%m-%d %H:%M} UTC"

    def warning(self) -> str:
        """The one-line warning of a use within WARN_BEFORE of the expiry or past it."""
        if self.state is ExpiryState.WARNING:
            left = "less than a day" if self.days_left < 1 else (
                f"{self.days_left} day{'s' if self.days_left != 1 else ''}")
            return (f"{self.label} expires on {self.when} (in {left}); after that this "
                    "workstation refuses to score with it. Ask its publisher for a new bundle "
                    "and import it before then.")
        return (f"{self.label} expired on {self.when} and was used anyway because the "
                f"setting {ALLOW_SETTING} is true; ask its publisher for a new bundle.")

    def refusal(self) -> ModelExpired:
        return ModelExpired(
            f"{self.label} expired on {self.when}: its publisher set that date as the end of "
            "this model's use, so this workstation no longer scores with it. Ask the publisher "
            "to send a new bundle and import it with `ratchet models import BUNDLE`; to use "
            f"this one anyway meanwhile, run `ratchet settings set {ALLOW_SETTING} true` "
            "(each such use is logged).")


def expiry_status(label: str, expires: str, at: dt.datetime) -> Expiry:
    """The policy: ok, warning (within WARN_BEFORE of the expiry) or expired (at or past it,
    as an import refuses a bundle at its expiry), for the installed `expires` text at `at`."""
    try:
        moment = parse_time(expires)
    except (TypeError, ValueError):
        raise EngineError(f"the installed record of {label} has an unreadable expiry date "
                          f"{expires!r}: the workspace database was changed outside Ratchet. "
                          "Run `ratchet doctor` to check it, and restore ratchet.db from a "
                          "backup if you have one.", "E_INSTALLED_EXPIRY_INVALID") from None
    left = moment - at
    days = left.days
    if moment <= at:
        return Expiry(label, ExpiryState.EXPIRED, moment, days)
    if left <= WARN_BEFORE:
        return Expiry(label, ExpiryState.WARNING, moment, days)
    return Expiry(label, ExpiryState.OK, moment, days)


def allow_expired(root: Path | str | None) -> bool:
    """Whether the workspace's settings allow using expired models."""
    from engine.ground.settings import get_setting

    return get_setting(root, ALLOW_SETTING) is True


def check_use(label: str, expires: str, root: Path | str | None,
              at: dt.datetime | None = None) -> Expiry:
    """Judge one use of an installed model: log a warning within WARN_BEFORE of its expiry;
    past it raise ModelExpired, unless the workspace at `root` allows expired models, in
    which case the use is logged as a warning (the record of it) and flagged."""
    status = expiry_status(label, expires, at or now())
    if status.state is ExpiryState.EXPIRED:
        if not allow_expired(root):
            log.info("refused to use %s: it expired on %s", label, status.when)
            raise status.refusal()
        status = Expiry(label, status.state, status.expires, status.days_left, True)
    if status.state is not ExpiryState.OK:
        log.warning("%s", status.warning())
    return status


class LoadedModel(tuple):
    """What Registry.load_model returns: the pair (model, label) it always has, so callers
    unpack it as before, with the use's expiry check as `.expiry` (`.expiry.allowed_expired`
    flags a use past the expiry)."""

    expiry: Expiry

    def __new__(cls, model, label: str, expiry: Expiry) -> LoadedModel:
        loaded = super().__new__(cls, (model, label))
        loaded.expiry = expiry
        return loaded
