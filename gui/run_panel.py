"""The run panel: everything a page that runs something shows around its one job.

A page puts its buttons in the panel's row (:meth:`RunPanel.add_button`), then starts its
work in one line::

    self.panel.run("back-test", tasks.run, ws, setup, then=self._finished, message="…")

and the panel does the rest, the same way on every page: the progress bar with its message
and Cancel (Escape too, while the job runs), the page's verdict cleared while it runs and told
when the run failed or was cancelled, the error dialog, a busy signal for the page's own
controls, reading the history (a newer read supersedes an older one, and a run drops the read
in progress because it brings the history back itself), and Export report / Export PDF (the
file chosen, written in the background, said where it went).

Cancel is instant: the token is cancelled at once, the bar stops and says "Cancelling…", and
later progress is no longer shown; the verdict ("Cancelled: nothing was recorded") waits for
the engine, which stops at its next step boundary and only then is it true.

One rule for every page: a new run clears the last run's messages; a failed (or cancelled) run
keeps the last good result visible, with the error beside it in the message line. Only when
there is no result to keep does the verdict itself say "Running…" and then what went wrong.
A page that shows a result of its own (a past run from the history) says so with
:meth:`RunPanel.showing_result`; :attr:`RunPanel.run_failed` / ``run_cancelled`` let it put
its own widgets (a chart saying "Running…") back the same way.
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
    run_failed = Signal(object)  # the exception, once the panel said so (before the dialog)
    run_cancelled = Signal()

    def __init__(self, ctx: AppContext, *, verdict: Verdict | None = None, failed: str = "",
                 cancelled: str = "", cancellable: bool = True,
                 parent: QWidget | None = None):
        """``failed`` / ``cancelled``: what the message line (the verdict, when it has no
        result to keep) says when a run fails or is cancelled."""
        super().__init__(parent)
        self.ctx = ctx
        self.verdict = verdict
        self.job: Job | None = None
        self._failed_text, self._cancelled_text = failed, cancelled
        self._cancellable = cancellable
        self._cancelling = False
        self.has_result = False  # the page shows a good result (kept when a run fails)
        self._report: Callable[[], Report | None] | None = None
        self._exporting = False
        self.export_button: QPushButton | None = None
        self.export_pdf_button: QPushButton | None = None
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
        """Export report… and Export PDF… (the same report as PDF), enabled while ``report()``
        has something and nothing runs; in either dialog the name's suffix decides."""
        self._report = report
        self.export_button = self.add_button("Export report…", self.choose_report)
        self.export_pdf_button = self.add_button("Export PDF…",
                                                 lambda: self.choose_report(pdf=True))
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
            ready = not self.running and not self._exporting and self._report() is not None
            self.export_button.setEnabled(ready)
            self.export_pdf_button.setEnabled(ready)

    # -- the run ---------------------------------------------------------------------------
    def run(self, name: str, fn, *args: Any, then: Callable[[Any], None], message: str,
            busy: bool = False, keep_message: bool = False) -> Job | None:
        """Start ``fn(*args)`` as the panel's job (none if one runs); ``then(result)`` on the
        UI thread when it finishes. ``busy``: the work reports no fraction."""
        if self.job is not None:
            return None
        if not keep_message:
            self.say("")
        if self.verdict is not None and not self.has_result:
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

    def showing_result(self, shown: bool = True) -> None:
        """The page shows a result (or, False, no longer does) that a failed run must keep."""
        self.has_result = shown

    def _finished(self, then: Callable[[Any], None], result: Any) -> None:
        self._end()
        self.has_result = True
        then(result)
        if self.job is None:  # ``then`` may have started the next one
            self._set_busy(False)

    def _failed(self, exc: BaseException) -> None:
        self._end()
        self._set_busy(False)
        reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        self._tell(self._failed_text, error=True, reason=reason)
        self.run_failed.emit(exc)
        errors.show_exception(self, exc)

    def _cancelled(self) -> None:
        self._end()
        self._set_busy(False)
        self._tell(self._cancelled_text)
        self.run_cancelled.emit()

    def _tell(self, text: str, error: bool = False, reason: str = "") -> None:
        if self.verdict is not None and not self.has_result:
            if text:
                self.verdict.clear(text)
            return
        if not text and not reason:
            return
        kept = " The result shown is the last good one." if self.has_result else ""
        self.say(" ".join(filter(None, (text, reason))) + kept, error)

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
    def choose_report(self, pdf: bool = False) -> None:
        report = self._report() if self._report else None
        if report is None:
            return
        start = Workspace(self.ctx.workspace).reports_dir / report.file_name
        path = dialogs.choose_report_path(self, report.title,
                                          start.with_suffix(".pdf") if pdf else start)
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
