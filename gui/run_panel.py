"""The run panel: everything a page that runs something shows around its one job.

A page puts its buttons in the panel's row (:meth:`RunPanel.add_button`), then starts its
work in one line::

    self.panel.run("back-test", tasks.run, ws, setup, then=self._finished, message="…")

and the panel does the rest, the same way on every page: the progress bar with its message
and Cancel (Escape too, while the job runs), the page's verdict cleared while it runs and told
when the run failed or was cancelled, the error dialog, a busy signal for the page's own
controls, reading the history (a newer read supersedes an older one, and a run drops the read
in progress because it brings the history back itself), and Export report (the file chosen,
written in the background, said where it went).

Cancel is instant: the token is cancelled at once, the bar stops and says "Cancelling…", and
later progress is no longer shown; the verdict ("Cancelled: nothing was recorded") waits for
the engine, which stops at its next step boundary and only then is it true.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from engine.ground.paths import Workspace
from gui import dialogs, errors
from gui.colors import ERROR_STYLE, MUTED_STYLE
from gui.context import AppContext
from gui.widgets import ProgressPanel
from gui.workers import Job


class Verdict(Protocol):
    """A page's verdict widget (a banner, a headline): cleared to a line of text."""

    def clear(self, text: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Report:
    """What Export report writes: ``write(*args, path)`` as the job ``job``, to a file the
    operator chooses in a dialog titled ``title`` (``file_name`` in the workspace's reports
    folder is suggested)."""

    job: str
    title: str
    file_name: str
    write: Callable[..., Path]
    args: tuple = ()


class RunPanel(QWidget):
    busy_changed = Signal(bool)  # the panel's job started (True) or ended (False)
    report_written = Signal(object)  # Path

    def __init__(self, ctx: AppContext, *, verdict: Verdict | None = None, failed: str = "",
                 cancelled: str = "", cancellable: bool = True,
                 parent: QWidget | None = None):
        """``failed`` / ``cancelled``: what the verdict (else the message line) says when a
        run fails or is cancelled."""
        super().__init__(parent)
        self.ctx = ctx
        self.verdict = verdict
        self.job: Job | None = None
        self._failed_text, self._cancelled_text = failed, cancelled
        self._cancellable = cancellable
        self._cancelling = False
        self._report: Callable[[], Report | None] | None = None
        self._exporting = False
        self.export_button: QPushButton | None = None
        self.row = QHBoxLayout()
        self.progress = ProgressPanel()
        self.progress.cancel_requested.connect(self.cancel)
        self.progress.cancel_button.setVisible(cancellable)
        self.progress.hide()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.AutoText)
        self.message.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.row)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        # Escape cancels, on whichever page is in view (a shortcut of a hidden widget is off).
        self.escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self.escape.setContext(Qt.ShortcutContext.WindowShortcut)
        self.escape.setEnabled(False)
        self.escape.activated.connect(self.cancel)

    # -- layout ----------------------------------------------------------------------------
    def add_button(self, text: str, slot: Callable[[], Any], default: bool = False
                   ) -> QPushButton:
        """A button in the panel's row (the page enables it; see busy_changed)."""
        button = QPushButton(text)
        button.setDefault(default)
        button.clicked.connect(lambda _checked=False: slot())
        self.row.addWidget(button)
        return button

    def add(self, widget: QWidget, stretch: int = 0) -> QWidget:
        """Another of the page's widgets in the row (a picker, a status line, a spin box)."""
        self.row.addWidget(widget, stretch)
        return widget

    def offer_report(self, report: Callable[[], Report | None]) -> QPushButton:
        """Export report…, enabled while ``report()`` has something and nothing runs."""
        self._report = report
        self.export_button = self.add_button("Export report…", self.choose_report)
        self.update_buttons()
        return self.export_button

    def say(self, text: str, error: bool = False) -> None:
        """The line under the progress: what happened last."""
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE if error else MUTED_STYLE)
        self.message.setVisible(bool(text))

    @property
    def running(self) -> bool:
        return self.job is not None

    def update_buttons(self) -> None:
        if self.export_button is not None:
            self.export_button.setEnabled(not self.running and not self._exporting
                                          and self._report() is not None)

    # -- the run ---------------------------------------------------------------------------
    def run(self, name: str, fn, *args: Any, then: Callable[[Any], None], message: str,
            busy: bool = False, keep_message: bool = False) -> Job | None:
        """Start ``fn(*args)`` as the panel's job (none if one runs); ``then(result)`` on the
        UI thread when it finishes. ``busy``: the work reports no fraction."""
        if self.job is not None:
            return None
        if not keep_message:
            self.say("")
        if self.verdict is not None:
            self.verdict.clear("Running…")
        self.ctx.jobs.supersede(self._history_key())  # the run brings the history back
        self._cancelling = False
        self.progress.start(message, busy)
        self.job = self.ctx.run(name, fn, *args, on_progress=self._progress,
                                on_finished=partial(self._finished, then),
                                on_failed=self._failed, on_cancelled=self._cancelled)
        self._set_busy(True)
        return self.job

    def cancel(self) -> None:
        """Cancel the running job (the Cancel button, Escape)."""
        if self.job is None or self._cancelling or not self._cancellable:
            return
        self._cancelling = True
        self.job.cancel()
        self.progress.cancelling()

    def _progress(self, fraction: float, message: str) -> None:
        if not self._cancelling:
            self.progress.set_progress(fraction, message)

    def _end(self) -> None:
        self.job = None
        self.progress.stop()

    def _set_busy(self, busy: bool) -> None:
        self.escape.setEnabled(busy)
        self.update_buttons()
        self.busy_changed.emit(busy)

    def _finished(self, then: Callable[[Any], None], result: Any) -> None:
        self._end()
        then(result)
        if self.job is None:  # ``then`` may have started the next one
            self._set_busy(False)

    def _failed(self, exc: BaseException) -> None:
        self._end()
        self._set_busy(False)
        self._tell(self._failed_text, error=True)
        errors.show_exception(self, exc)

    def _cancelled(self) -> None:
        self._end()
        self._set_busy(False)
        self._tell(self._cancelled_text)

    def _tell(self, text: str, error: bool = False) -> None:
        if not text:
            return
        if self.verdict is not None:
            self.verdict.clear(text)
        else:
            self.say(text, error)

    # -- the history -----------------------------------------------------------------------
    def _history_key(self) -> tuple[str, int]:
        return ("run panel history", id(self))

    def read_history(self, name: str, fn, *args: Any, then: Callable[[Any], None]) -> None:
        """Read the past runs in the background, unless a run is in progress (it brings them
        back itself); a newer read supersedes an older one."""
        if self.job is None:
            self.ctx.run(name, fn, *args, key=self._history_key(), on_finished=then,
                         parent=self)

    # -- the report ------------------------------------------------------------------------
    def choose_report(self) -> None:
        report = self._report() if self._report else None
        if report is None:
            return
        path = dialogs.choose_report_path(self, report.title,
                                          Workspace(self.ctx.workspace).reports_dir
                                          / report.file_name)
        if path is not None:
            self.export_report(path)

    def export_report(self, path: Path) -> None:
        """Write the report to ``path`` in the background; say where it went."""
        report = self._report() if self._report else None
        if report is None:
            return
        self._exporting = True
        self.update_buttons()
        self.ctx.run(report.job, report.write, *report.args, Path(path),
                     on_finished=self._exported, on_failed=self._export_failed)

    def _exported(self, path: Path) -> None:
        self._exporting = False
        self.update_buttons()
        self.say(f"Report saved to {path}.")
        self.report_written.emit(path)

    def _export_failed(self, exc: BaseException) -> None:
        self._exporting = False
        self.update_buttons()
        errors.show_exception(self, exc)
