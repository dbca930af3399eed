"""The Overview page, the one the app opens on: is everything all right?

One line per installed model: its active version, expiry, last regression verdict, last
now-test and open alarms, and the one thing to do next where something needs doing (a
double-click opens the page where it is done). Read by gui.tasks.overview as a job, again each
time the page is shown.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from engine.registry import expiry as model_expiry
from gui.colors import AMBER, ERROR_STYLE, GREEN, RED
from gui.context import AppContext
from gui.pages.models_tables import expiry
from gui.tables import cell, make_table, set_row, when
from gui.tasks import overview as tasks
from gui.widgets import page_header

log = logging.getLogger(__name__)

COLUMNS = ["Model", "Active version", "Expires", "Last regression", "Last now-test",
           "Open alarms", "To do next"]
HEALTH_COLORS = {tasks.Health.OK: GREEN, tasks.Health.ATTENTION: AMBER,
                 tasks.Health.PROBLEM: RED}
NO_MODEL = "No model is installed yet: import a model bundle on the Models page."


def headline(overview: tasks.Overview) -> tuple[str, str]:
    """The page's answer in one sentence, and its colour."""
    if not overview.models:
        return NO_MODEL, AMBER.name()
    if overview.all_right:
        n = len(overview.models)
        return (f"Everything is all right: {'the' if n == 1 else 'all'} {n} installed "
                f"model{'' if n == 1 else 's'} passed {'its' if n == 1 else 'their'} last "
                "regression run and no alarm is open.", GREEN.name())
    problems = [m for m in overview.models if m.health is tasks.Health.PROBLEM]
    todo = [m for m in overview.models if m.health is not tasks.Health.OK]
    if problems:
        return (f"{_some_of(len(problems), len(overview.models), 'needs', 'need')} action "
                "now; see “To do next”.", RED.name())
    return (f"{_some_of(len(todo), len(overview.models), 'has', 'have')} something to do; "
            "see “To do next”.", AMBER.name())


def _some_of(some: int, of: int, one: str, many: str) -> str:
    """"1 of 1 model has", "1 of 3 models has", "2 of 3 models have"."""
    return f"{some} of {of} model{'' if of == 1 else 's'} {one if some == 1 else many}"


def _cells(status: tasks.ModelStatus) -> list:
    color = HEALTH_COLORS[status.health]
    if status.version is None:
        version, expires, exp_color = "none active", "", None
    else:
        version = str(status.version) + (f" (of {status.versions})" if status.versions > 1
                                         else "")
        expires, exp_color = expiry(status.expires, model_expiry.now())
    if status.regression_passed is None:
        regression, reg_color = "never run", AMBER
    elif status.regression_passed:
        regression, reg_color = f"passed (run {status.regression_run})", GREEN
    else:
        regression, reg_color = f"FAILED (run {status.regression_run})", RED
    if status.nowtest_at is None:
        nowtest, now_color = "none yet", None
    else:
        nowtest = (f"{when(status.nowtest_at)}, {status.nowtest_input}"
                   f"{' (alarm)' if status.nowtest_alarm else ''}")
        now_color = RED if status.nowtest_alarm else None
    alarms = str(status.open_alarms) if status.open_alarms else "none"
    return [cell(status.model_id, bold=True), cell(version), cell(expires, color=exp_color),
            cell(regression, color=reg_color), cell(nowtest, color=now_color),
            cell(alarms, color=RED if status.open_alarms else None),
            cell(status.next_step or "Nothing: all is well.", status.next_step or "",
                 color=color, bold=status.health is not tasks.Health.OK)]


class OverviewPage(QWidget):
    loaded = Signal(object)  # tasks.Overview
    open_page = Signal(str)  # a page name: where the chosen model's next step is done

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.overview: tasks.Overview | None = None
        header, _ = page_header("Overview", "Is everything all right? Each installed model, "
                                "its state, and what to do next where something needs doing.")
        self.answer = QLabel("Reading the workspace…")
        self.answer.setWordWrap(True)
        self.answer.setStyleSheet("font-size: 12pt; font-weight: 600;")
        self.table = make_table(COLUMNS)
        self.table.setWordWrap(True)
        self.table.cellDoubleClicked.connect(self._double_clicked)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(header)
        layout.addWidget(self.answer)
        layout.addWidget(self.error)
        layout.addWidget(self.table, 1)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        self.ctx.run("overview", tasks.load_overview, self.ctx.workspace, key="overview",
                     on_finished=self._loaded, on_failed=self._failed)

    def _loaded(self, overview: tasks.Overview) -> None:
        self.overview = overview
        self.error.hide()
        text, color = headline(overview)
        self.answer.setText(text)
        self.answer.setStyleSheet(f"font-size: 12pt; font-weight: 600; color: {color};")
        self.table.setRowCount(len(overview.models))
        for row, status in enumerate(overview.models):
            set_row(self.table, row, _cells(status))
        self.table.resizeRowsToContents()
        self.loaded.emit(overview)

    def _failed(self, exc: BaseException) -> None:
        """The last good overview stays; the error is said beside it."""
        message = getattr(exc, "message", None) or str(exc)
        log.warning("the overview could not be read: %s", message)
        self.error.setText(f"The overview could not be read: {message}")
        self.error.show()

    def _double_clicked(self, row: int, _column: int) -> None:
        if self.overview is None or not 0 <= row < len(self.overview.models):
            return
        page = self.overview.models[row].next_page
        if page:
            self.open_page.emit(page)
