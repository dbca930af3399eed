"""The Predict page: choose a CSV (button, drag-and-drop, or the sample), see whether it can be
scored, run it in the background with progress and Cancel, then read the results.

Every engine call (checking, scoring, reading the preview) runs as a job in a worker thread;
this widget only starts jobs and shows what they report, so a 1M-row file never freezes it.
The check and the run share a job key, and so do the previews: a newer one supersedes the
job the page has moved on from, whose late reports are dropped (gui.workers).
"""

from __future__ import annotations

import enum
import logging
from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.batch.result import BatchResult
from engine.errors import EngineError
from gui import dialogs, errors
from gui.colors import MUTED_STYLE
from gui.context import AppContext
from gui.drop import FileDropMixin
from gui.pages.model_picker import BY_FILE, ModelPicker
from gui.pages.output_chooser import OutputChooser
from gui.pages.predict_summary import choice_html, error_html, summary_html
from gui.pages.results_view import ResultsPanel
from gui.tasks import predict as tasks
from gui.tasks import regression as regression_tasks
from gui.tasks.preview import Preview, read_preview
from gui.widgets import ProgressPanel, page_header

log = logging.getLogger(__name__)


def _shadow_failed(result: BatchResult, exc: BaseException) -> None:
    log.warning("the trial's shadow of %s could not run: %s", result.output, exc)


FILE_JOB = "predict: the chosen file"  # its check, then its run (the key of both)
PREVIEW_JOB = "predict: the preview"
WHY_JOB = "predict: why this row"  # a newer selection supersedes the explanation under way


class State(enum.StrEnum):
    EMPTY = "empty"  # no file chosen
    CHECKING = "checking"  # the validation summary is being computed
    READY = "ready"  # the file can be scored
    BLOCKED = "blocked"  # the file cannot be scored (the summary says why)
    RUNNING = "running"  # scoring


class PredictPage(FileDropMixin, QWidget):
    state_changed = Signal(str)
    run_finished = Signal(object)  # BatchResult
    preview_loaded = Signal(object)  # Preview
    pinned = Signal(int, str)  # the pinned case's id, what the page said about it

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.state = State.EMPTY
        self.source: Path | None = None
        self.delimiter = ","
        self.last_result: BatchResult | None = None
        self.checked: tasks.Checked | None = None  # the last check of the chosen file
        self._job = None  # the check or the run
        self.shadow_job = None  # the latest trial shadow of a batch (gui.tasks.predict)
        self.setAcceptDrops(True)
        self._build()
        self._set_state(State.EMPTY)

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        header, _ = page_header("Predict", "Score a CSV file with a model's active version. "
                                "Rows that cannot be scored are kept, marked rejected, with "
                                "the reason.")
        self.picker = ModelPicker(by_file=BY_FILE)
        self.picker.setToolTip("“By the file's columns”: the one active model whose inputs "
                               "the file has; when several have them, choose one here.")
        self.picker.changed.connect(self.recheck)

        self.open_button = QPushButton("Open CSV file…")
        self.open_button.clicked.connect(self.choose_file)
        self.sample_button = QPushButton("Use sample data")
        self.sample_button.setToolTip(f"July 2013 flights: {tasks.sample_csv().name}")
        self.sample_button.clicked.connect(self.use_sample)
        self.drop_hint = QLabel("…or drop a CSV file anywhere on this page.")
        self.drop_hint.setStyleSheet(MUTED_STYLE)
        self.file_label = QLabel()
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        for w in (self.open_button, self.sample_button, self.drop_hint):
            buttons.addWidget(w)
        buttons.addStretch(1)
        input_box = QGroupBox("1. Choose a CSV file")
        box = QVBoxLayout(input_box)
        box.addWidget(self.picker)
        box.addLayout(buttons)
        box.addWidget(self.file_label)
        box.addWidget(self.summary)

        self.output = OutputChooser(self.ctx.settings)
        self.run_button = QPushButton("Run predictions")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        self.progress = ProgressPanel()
        self.progress.cancel_requested.connect(self.cancel)
        # Escape cancels a check or a run while this page is in view (as on the run panels).
        self.escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self.escape.setContext(Qt.ShortcutContext.WindowShortcut)
        self.escape.setEnabled(False)
        self.escape.activated.connect(self.cancel)
        self.run_message = QLabel()
        self.run_message.setWordWrap(True)
        out_row = QHBoxLayout()
        out_row.addWidget(self.output, 1)
        out_row.addSpacing(12)
        out_row.addWidget(self.run_button)
        run_row = QHBoxLayout()
        run_row.addWidget(self.progress, 1)
        run_row.addWidget(self.run_message, 1)
        run_box = QGroupBox("2. Run")
        box = QVBoxLayout(run_box)
        box.addLayout(out_row)
        box.addLayout(run_row)

        self.results = ResultsPanel()
        self.results.pin_requested.connect(self.pin_outlier)
        self.results.explain_requested.connect(self.explain_row)
        self.results_box = QGroupBox("3. Results")
        QVBoxLayout(self.results_box).addWidget(self.results)

        layout = QVBoxLayout(self)
        layout.addWidget(header)
        layout.addWidget(input_box)
        layout.addWidget(run_box)
        layout.addWidget(self.results_box, 1)
        self.filler = QWidget()  # takes the space until there are results
        layout.addWidget(self.filler, 1)

    # -- state -----------------------------------------------------------------------------
    def _set_state(self, state: State) -> None:
        self.state = state
        running = state is State.RUNNING
        self.escape.setEnabled(state in (State.RUNNING, State.CHECKING))
        for w in (self.open_button, self.sample_button, self.output, self.picker):
            w.setEnabled(not running)
        self.run_button.setEnabled(state is State.READY)
        self.progress.setVisible(state in (State.RUNNING, State.CHECKING))
        self.run_message.setVisible(not self.progress.isVisible()
                                    and bool(self.run_message.text()))
        self.results_box.setVisible(self.last_result is not None)
        self.filler.setVisible(self.last_result is None)
        if state is State.EMPTY:
            self.file_label.setText("No file chosen yet.")
            self.summary.setText("")
        self.state_changed.emit(state.value)

    def _say(self, text: str) -> None:
        """A line under the Run row (what happened to the last run)."""
        self.run_message.setText(text)
        self.run_message.setVisible(bool(text) and not self.progress.isVisible())

    # -- choosing a file -------------------------------------------------------------------
    def choose_file(self) -> None:
        start = self.ctx.settings.last_input_dir or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open a CSV file", start,
                                              "CSV files (*.csv *.txt *.tsv);;All files (*)")
        if path:
            self.ctx.settings.last_input_dir = str(Path(path).parent)
            self.open_csv(Path(path))

    def use_sample(self) -> None:
        self.open_csv(tasks.sample_csv())

    def open_csv(self, path: Path) -> None:
        """Show ``path`` and check it against the active model in the background."""
        if self.state is State.RUNNING:
            return
        self.source = Path(path)
        self._forget_results()
        self.output.set_path(tasks.default_output(self.source, self.ctx.workspace))
        self.file_label.setText(f"<b>{self.source.name}</b> in {self.source.parent}")
        self.summary.setText("")
        self._say("")
        self.recheck()

    def recheck(self) -> None:
        """Check the chosen file again (the active model may have changed)."""
        if self.source is None or self.state is State.RUNNING:
            return
        self.checked = None
        self._set_state(State.CHECKING)
        self.progress.start(f"Checking {self.source.name}…", busy=True)
        # a check of another file, or with another model, is superseded
        self._job = self.ctx.run("check csv", tasks.check_file, self.ctx.workspace, self.source,
                                 self.picker.model_id(), key=FILE_JOB,
                                 on_finished=self._checked, on_failed=self._check_failed,
                                 on_cancelled=self._check_cancelled)

    def _checked(self, checked: tasks.Checked) -> None:
        text, ready = summary_html(checked)
        self.checked = checked
        self.delimiter = checked.inspection.delimiter
        self.summary.setText(text)
        self._set_state(State.READY if ready else State.BLOCKED)

    def _check_failed(self, exc: BaseException) -> None:
        self._set_state(State.BLOCKED)
        if isinstance(exc, EngineError):  # a file-level problem: the summary is the place
            self.summary.setText(choice_html(exc.code, exc.message) or error_html(exc.message))
        else:
            errors.show_exception(self, exc)

    def _check_cancelled(self) -> None:
        self.source = None
        self.output.set_path(None)
        self._set_state(State.EMPTY)

    # -- running ---------------------------------------------------------------------------
    def output_path(self) -> Path | None:
        return None if self.source is None else self.output.path(self.source.parent)

    def model_ref(self) -> str | None:
        """The model to run: the one chosen, else the one the file's columns chose at the
        check (its active version when the run starts)."""
        if self.picker.model_id() is not None:
            return self.picker.model_id()
        return None if self.checked is None else self.checked.model_id

    def run(self) -> None:
        output = self.output_path()
        if self.state is not State.READY or self.source is None:
            return
        if output is None:
            self._say("Choose where to save the predictions first.")
            return
        if self.output.must_ask_before_replacing(output) and not dialogs.confirm(
                self, "Replace the file?", f"{output} already exists.\n\nReplace it with the "
                "new predictions?"):
            return
        self._forget_results()
        self._set_state(State.RUNNING)
        self.progress.start(f"Scoring {self.source.name}…")
        self._job = self.ctx.run("score csv", tasks.score_file, self.ctx.workspace, self.source,
                                 output, self.model_ref(), key=FILE_JOB,
                                 on_progress=self.progress.set_progress,
                                 on_finished=self._scored, on_failed=self._run_failed,
                                 on_cancelled=self._run_cancelled)

    def cancel(self) -> None:
        if self._job is not None and self.state in (State.RUNNING, State.CHECKING):
            self._job.cancel()
            self.progress.cancelling()

    def _scored(self, result: BatchResult) -> None:
        self._shadow(result)  # the batch is written and recorded: its trial shadow follows
        log.info("scored %s: %d rows, %d rejected -> %s", result.input, result.rows,
                 result.rejected, result.output)
        self.last_result = result
        # Running again asks before replacing it, like any existing file (issue 14, item 10):
        # the operator may have opened or kept the first predictions.
        self.output.set_path(Path(result.output))
        self._say("")
        self._set_state(State.READY)
        self.results.show_result(result)
        self.run_finished.emit(result)
        self.ctx.run("preview", read_preview, Path(result.output), self.delimiter, result.rejected,
                     key=PREVIEW_JOB, on_finished=self._previewed,
                     on_failed=self._preview_failed)

    def _shadow(self, result: BatchResult) -> None:
        """A running trial repeats the batch with its challenger, in a job of its own after
        the operator's is done: not waited for, not asked about on quit (cancelling it only
        skips the observation), and a failure is only logged (the trial records it too)."""
        self.shadow_job = self.ctx.run(
            "trial shadow", tasks.shadow_file, self.ctx.workspace, result,
            on_failed=partial(_shadow_failed, result))

    def _forget_results(self) -> None:
        self.ctx.jobs.supersede(PREVIEW_JOB)  # a re-check keeps the results; a new run drops them
        self.last_result = None
        self.results.clear()

    def _previewed(self, preview: Preview) -> None:
        self.results.show_preview(preview)
        self.preview_loaded.emit(preview)

    def _preview_failed(self, exc: BaseException) -> None:
        self.results.note.setText(f"The preview could not be read: {exc}")

    def _run_failed(self, exc: BaseException) -> None:
        self._set_state(State.READY)
        self._say("The run stopped; nothing was written.")
        errors.show_exception(self, exc)

    def _run_cancelled(self) -> None:
        self._set_state(State.READY)
        self._say("Cancelled: nothing was written.")

    # -- pinning a row as an outlier case ---------------------------------------------------
    def pin_outlier(self, number: int, inputs: dict[str, str]) -> None:
        """Ask for a note, then pin the row as an outlier case of the model that scored it."""
        result = self.last_result
        if result is None or self.source is None:
            return
        source = f"{self.source.name} row {number}"
        note, ok = QInputDialog.getText(
            self, "Pin as outlier", f"Pin {source} as an outlier case of {result.model}: every "
            "later regression run must reproduce today's output for it.\n\nNote (why it "
            "matters):")
        if not ok:
            return
        if not note.strip():
            self.results.note.setText("Not pinned: a note is needed.")
            return
        self.results.pin_button.setEnabled(False)
        self.ctx.run("pin outlier", regression_tasks.pin_outlier, self.ctx.workspace,
                     result.model, inputs, note.strip(), source,
                     on_finished=partial(self._pinned, source),
                     on_failed=self._pin_failed)

    def explain_row(self, number: int, cells: dict) -> None:
        """Why the selected row got its prediction, by the version that scored it."""
        if self.last_result is None:
            return
        self.results.why.loading(number)
        self.ctx.run("why", tasks.explain_row, self.ctx.workspace, self.last_result.model,
                     cells, key=WHY_JOB,
                     on_finished=lambda why: self.results.why.show_why(why, number),
                     on_failed=self._why_failed)

    def _why_failed(self, exc: BaseException) -> None:
        if not isinstance(exc, EngineError):  # a bug: said as one, with the log's details
            self.results.why.clear("The explanation failed.")
            errors.show_exception(self, exc)
            return
        self.results.why.show_unavailable(exc.message)

    def _pinned(self, source: str, outcome: tuple[int, str]) -> None:
        pinned_id, label = outcome
        text = f"Pinned {source} as an outlier case of {label.partition('@')[0]}."
        self.results.note.setText(text)
        self.results.pin_button.setEnabled(self.results.selected_inputs() is not None)
        self.pinned.emit(pinned_id, text)

    def _pin_failed(self, exc: BaseException) -> None:
        self.results.pin_button.setEnabled(self.results.selected_inputs() is not None)
        errors.show_exception(self, exc)

    # -- drag and drop (gui.drop.FileDropMixin) -------------------------------------------
    def accepts_drop(self) -> bool:
        return self.state is not State.RUNNING

    def file_dropped(self, path: Path) -> None:
        self.open_csv(path)
