"""The Overview page's work, run as a job: for each installed model, is everything all right?

Its active version and expiry (the engine's policy, engine.registry.expiry), the last
regression run of that version, the last now-test of the model, its open alarms, and the one
thing to do next where something needs doing, most urgent first. No Qt here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from engine.alarms.store import list_alarms
from engine.nowtest.store import list_nowtests
from engine.progress import CancelToken, Progress
from engine.registry import expiry as model_expiry
from engine.registry.registry import InstalledVersion, Registry
from engine.regression.store import last_regression_run

ALARM_LIMIT = 1000


class Health(StrEnum):
    OK = "ok"
    ATTENTION = "attention"  # nothing is refused yet; something is due
    PROBLEM = "problem"  # expired, failed or alarmed: act now


@dataclass(frozen=True, slots=True)
class ModelStatus:
    model_id: str
    version: int | None  # the active version; None: no version is active
    versions: int  # how many versions are installed
    expires: str  # the active version's expiry as installed ("" without one)
    expiry_state: str  # engine.registry.expiry.ExpiryState, "" without an active version
    days_left: int | None
    regression_run: int | None  # the id of the last regression run of the active version
    regression_passed: bool | None
    nowtest_at: str | None  # the last now-test of the model (any version)
    nowtest_input: str | None
    nowtest_alarm: bool | None
    open_alarms: int
    health: Health
    next_step: str | None  # the one thing to do next; None: nothing needs doing
    next_page: str | None  # the page (gui.main_window.PAGES name) where it is done

    @property
    def label(self) -> str | None:
        return None if self.version is None else f"{self.model_id}@{self.version}"


@dataclass(frozen=True, slots=True)
class Overview:
    models: list[ModelStatus]

    @property
    def all_right(self) -> bool:
        return bool(self.models) and all(m.health is Health.OK for m in self.models)


def _next_step(status: dict) -> tuple[Health, str | None, str | None]:
    """The most urgent thing to do for one model, how urgent, and the page to do it on."""
    label = f"{status['model_id']} version {status['version']}"
    state = status["expiry_state"]
    if status["version"] is None:
        return Health.ATTENTION, (f"No version of {status['model_id']} is active: activate "
                                  "one on the Models page to use it."), "models"
    if state == model_expiry.ExpiryState.EXPIRED:
        return Health.PROBLEM, (f"{label} has expired: ask its publisher for a new bundle and "
                                "import it on the Models page."), "models"
    if status["regression_passed"] is False:
        return Health.PROBLEM, (f"The last regression run of {label} failed: open the "
                                "Regression page to see which case or requirement."), \
            "regression"
    if status["open_alarms"]:
        n = status["open_alarms"]
        return Health.PROBLEM, (f"{n} open alarm{'s' if n != 1 else ''}: look at "
                                f"{'them' if n != 1 else 'it'} on the Monitor page and "
                                "acknowledge once understood."), "monitor"
    if status["regression_passed"] is None:
        return Health.ATTENTION, (f"{label} has no regression run yet: run its suite on the "
                                  "Regression page."), "regression"
    if state == model_expiry.ExpiryState.WARNING:
        days = status["days_left"]
        return Health.ATTENTION, (f"{label} expires in {days} day{'s' if days != 1 else ''}: "
                                  "ask its publisher for a new bundle."), "models"
    if status["nowtest_at"] is None:
        return Health.ATTENTION, ("No now-test yet: now-test a recent labelled file on the "
                                  "Monitor page."), "monitor"
    return Health.OK, None, None


def _status(registry: Registry, model_id: str, versions: list[InstalledVersion],
            alarms: list) -> ModelStatus:
    active = next((v for v in versions if v.active), None)
    status: dict = {"model_id": model_id, "version": None, "versions": len(versions),
                    "expires": "", "expiry_state": "", "days_left": None,
                    "regression_run": None, "regression_passed": None}
    if active is not None:
        label = f"{model_id}@{active.version}"
        judged = model_expiry.expiry_status(label, active.expires, model_expiry.now())
        status.update(version=active.version, expires=active.expires,
                      expiry_state=str(judged.state), days_left=judged.days_left)
        last = last_regression_run(registry.db, label)
        if last is not None:
            status.update(regression_run=last[0], regression_passed=bool(last[1]["passed"]))
    nowtests = list_nowtests(registry.db, model_id, limit=1)
    status["nowtest_at"] = nowtests[0]["at"] if nowtests else None
    status["nowtest_input"] = Path(nowtests[0]["input"]).name if nowtests else None
    status["nowtest_alarm"] = nowtests[0]["alarm"] if nowtests else None
    status["open_alarms"] = sum(1 for a in alarms if a.model.split("@")[0] == model_id)
    health, step, page = _next_step(status)
    return ModelStatus(**status, health=health, next_step=step, next_page=page)


def load_overview(workspace: Path, *, progress: Progress, cancel: CancelToken) -> Overview:
    registry = Registry.open(workspace)
    try:
        installed = registry.versions()
        alarms = list_alarms(registry.db, open_only=True, limit=ALARM_LIMIT)
        by_model: dict[str, list[InstalledVersion]] = {}
        for version in installed:
            by_model.setdefault(version.model_id, []).append(version)
        return Overview([_status(registry, model_id, versions, alarms)
                         for model_id, versions in sorted(by_model.items())])
    finally:
        registry.close()
