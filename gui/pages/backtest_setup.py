"""The Back-test page's choices: the corpus and its time column, the partitioning (and the
time zone its months are taken in), the champion and the challengers (installed versions, or
bundle files verified when the run starts).

Reading the corpus header runs as a job; nothing here blocks the UI thread.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.backtest.partitions import check_timezone
from engine.errors import InputError
from gui import errors
from gui.context import AppContext
from gui.pages.model_picker import ModelPicker
from gui.tasks import backtest as tasks
from gui.tasks.models import Snapshot

PARTITIONS = (("Month", "month"), ("Quarter", "quarter"), ("Year", "year"))
AS_WRITTEN = "as written"
ZONES = ("UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Chicago",
         "America/Los_Angeles", "Asia/Tokyo")  # offered; any IANA name may be typed
NOTE_STYLE = "color: #555;"


class BacktestSetup(QWidget):
    corpus_loaded = Signal(object)  # tasks.CorpusInfo
    changed = Signal()  # something that decides whether a run can start changed

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.info: tasks.CorpusInfo | None = None
        self._snapshot: Snapshot | None = None
        self._build()

    def _build(self) -> None:
        self.corpus_edit = QLineEdit()
        self.corpus_edit.setReadOnly(True)
        self.corpus_edit.setPlaceholderText("A CSV file, a folder of CSV files, or Parquet")
        self.file_button = QPushButton("File…")
        self.file_button.clicked.connect(self._choose_file)
        self.folder_button = QPushButton("Folder…")
        self.folder_button.clicked.connect(self._choose_folder)
        corpus_row = QHBoxLayout()
        corpus_row.addWidget(self.corpus_edit, 1)
        corpus_row.addWidget(self.file_button)
        corpus_row.addWidget(self.folder_button)
        self.corpus_note = QLabel()
        self.corpus_note.setStyleSheet(NOTE_STYLE)
        self.time_combo = QComboBox()
        self.time_combo.setMinimumContentsLength(18)
        self.time_combo.setEnabled(False)
        self.time_combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.by_combo = QComboBox()
        for text, value in PARTITIONS:
            self.by_combo.addItem(text, value)
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
        self.picker = ModelPicker()
        inner = self.picker.findChild(QLabel)  # the form row names it "Champion" instead
        if inner is not None:
            inner.hide()
        self.picker.changed.connect(self._champion_changed)
        time_row = QHBoxLayout()
        time_row.addWidget(self.time_combo)
        time_row.addSpacing(8)
        time_row.addWidget(QLabel("Partition by:"))
        time_row.addWidget(self.by_combo)
        time_row.addSpacing(8)
        time_row.addWidget(self.corpus_note, 1)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.addRow("Corpus:", corpus_row)
        form.addRow("Time column:", time_row)
        form.addRow("Time zone:", self.zone_combo)
        form.addRow("Champion:", self.picker)

        self.challengers = QListWidget()
        self.challengers.setMaximumHeight(72)
        self.challengers.setToolTip("Tick the installed versions to compare with the champion, "
                                    "or add a bundle file (verified, not installed).")
        self.add_bundle_button = QPushButton("Add bundle file…")
        self.add_bundle_button.clicked.connect(self._choose_bundle)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self._remove_bundle)
        self.remove_button.setEnabled(False)
        self.challengers.currentItemChanged.connect(
            lambda _item, _old: self.remove_button.setEnabled(self._file_chosen()))
        buttons = QVBoxLayout()
        buttons.addWidget(self.add_bundle_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        group = QGroupBox("Challengers (optional)")
        box = QHBoxLayout(group)
        box.setContentsMargins(8, 4, 8, 6)
        box.addWidget(self.challengers, 1)
        box.addLayout(buttons)

        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addLayout(form, 4)
        row.addWidget(group, 3)

    # -- the corpus ------------------------------------------------------------------------
    def _start_dir(self) -> str:
        return self.ctx.settings.last_input_dir or str(Path.home())

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose the back-test corpus", self._start_dir(),
            "Corpus files (*.csv *.parquet);;CSV files (*.csv);;Parquet files (*.parquet);;"
            "All files (*)")
        if path:
            self.ctx.settings.last_input_dir = str(Path(path).parent)
            self.set_corpus(Path(path))

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a folder of CSV files",
                                                self._start_dir())
        if path:
            self.ctx.settings.last_input_dir = str(Path(path))
            self.set_corpus(Path(path))

    def set_corpus(self, path: Path) -> None:
        """Show ``path`` and read its header in the background (``corpus_loaded`` follows)."""
        self.info = None
        self.corpus_edit.setText(str(path))
        self.corpus_edit.setToolTip(str(path))
        self.corpus_edit.setCursorPosition(len(str(path)))  # the file name end in view
        self.corpus_note.setText("Reading the columns…")
        self.time_combo.clear()
        self.time_combo.setEnabled(False)
        self.changed.emit()
        self.ctx.run("back-test corpus header", tasks.inspect_corpus, Path(path),
                     on_finished=self._corpus_read,
                     on_failed=lambda exc: self._corpus_failed(Path(path), exc))

    def _corpus_read(self, info: tasks.CorpusInfo) -> None:
        if Path(self.corpus_edit.text()) != info.path:
            return  # another corpus was chosen meanwhile
        self.info = info
        self.time_combo.clear()
        for name in info.time_columns:
            self.time_combo.addItem(f"{name}  (dates)", name)
        if info.time_columns and len(info.columns) > len(info.time_columns):
            self.time_combo.insertSeparator(self.time_combo.count())
        for name in info.columns:
            if name not in info.time_columns:
                self.time_combo.addItem(name, name)
        self.time_combo.setCurrentIndex(0)
        self.time_combo.setEnabled(bool(info.columns))
        files = f"{info.files} files, " if info.files > 1 else ""
        hint = ("" if info.time_columns else
                "; no column looks like dates (YYYY-MM-DD…): choose the time column")
        self.corpus_note.setText(f"{files}{len(info.columns)} columns{hint}.")
        self.changed.emit()
        self.corpus_loaded.emit(info)

    def _corpus_failed(self, path: Path, exc: BaseException) -> None:
        if Path(self.corpus_edit.text()) != path:
            return  # another corpus was chosen meanwhile
        self.corpus_note.setText("This corpus cannot be read; choose another.")
        self.changed.emit()
        errors.show_exception(self, exc)

    # -- the models ------------------------------------------------------------------------
    def set_snapshot(self, snap: Snapshot) -> None:
        self._snapshot = snap
        self.picker.set_snapshot(snap)
        self._fill_installed()

    def _champion_changed(self) -> None:
        self._fill_installed()
        self.changed.emit()

    def _fill_installed(self) -> None:
        """Every installed version but the champion, ticked ones kept; bundle files kept."""
        ticked = set(self._checked_installed())
        files = [self.challengers.item(i) for i in range(self.challengers.count())
                 if isinstance(self.challengers.item(i).data(Qt.ItemDataRole.UserRole), Path)]
        files = [(f.text(), f.data(Qt.ItemDataRole.UserRole), f.checkState()) for f in files]
        self.challengers.clear()
        champion = self.picker.label()
        for v in (self._snapshot.versions if self._snapshot else []):
            label = f"{v.model_id}@{v.version}"
            if label == champion:
                continue
            state = "active" if v.active else "installed"
            self._add_item(f"{label}  ({state})", label, label in ticked)
        for text, path, state in files:
            self._add_item(text, path, state == Qt.CheckState.Checked)

    def _add_item(self, text: str, data, checked: bool) -> QListWidgetItem:
        item = QListWidgetItem(text)
        item.setData(Qt.ItemDataRole.UserRole, data)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        if isinstance(data, Path):
            item.setToolTip(f"{data}\nverified when the back-test starts; not installed")
        self.challengers.addItem(item)
        return item

    def _checked_installed(self) -> list[str]:
        return [c for c in self.chosen_challengers() if isinstance(c, str)]

    def add_bundle(self, path: Path) -> None:
        path = Path(path)
        if path in self.chosen_challengers() or any(
                self.challengers.item(i).data(Qt.ItemDataRole.UserRole) == path
                for i in range(self.challengers.count())):
            return
        self._add_item(f"{path.name}  (file)", path, True)

    def _choose_bundle(self) -> None:
        start = self.ctx.settings.last_bundle_dir or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Add a challenger bundle", start,
                                              "Ratchet bundles (*.ratchet);;All files (*)")
        if path:
            self.ctx.settings.last_bundle_dir = str(Path(path).parent)
            self.add_bundle(Path(path))

    def _remove_bundle(self) -> None:
        if self._file_chosen():
            self.challengers.takeItem(self.challengers.currentRow())

    def chosen_challengers(self) -> list[str | Path]:
        items = [self.challengers.item(i) for i in range(self.challengers.count())]
        return [i.data(Qt.ItemDataRole.UserRole) for i in items
                if i.checkState() == Qt.CheckState.Checked]

    # -- the whole choice ------------------------------------------------------------------
    def ready(self) -> bool:
        return (self.info is not None and self.time_combo.currentData() is not None
                and self.picker.model_id() is not None)

    def timezone(self) -> str | None:
        """The chosen IANA zone (None: as written); InputError naming a zone that is none."""
        text = self.zone_combo.currentText().strip()
        return None if text in ("", AS_WRITTEN) else check_timezone(text)

    def setup(self) -> tasks.Setup | None:
        """The choice, or None (not ready, or an unknown time zone: its error is shown)."""
        if not self.ready():
            return None
        try:
            zone = self.timezone()
        except InputError as exc:
            errors.show_exception(self, exc)
            return None
        return tasks.Setup(self.info.path, self.time_combo.currentData(),
                           self.by_combo.currentData(), self.picker.label(),
                           tuple(self.chosen_challengers()), zone)

    def set_enabled(self, enabled: bool) -> None:
        for w in (self.file_button, self.folder_button, self.time_combo, self.by_combo,
                  self.zone_combo, self.picker, self.challengers, self.add_bundle_button):
            w.setEnabled(enabled and (w is not self.time_combo or self.info is not None))
        self.remove_button.setEnabled(enabled and self._file_chosen())

    def _file_chosen(self) -> bool:
        """The current challenger is a bundle file (installed versions are only unticked)."""
        item = self.challengers.currentItem()
        return item is not None and isinstance(item.data(Qt.ItemDataRole.UserRole), Path)
