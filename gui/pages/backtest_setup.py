"""The Back-test page's choices: the corpus and its time column, the partitioning (and the
time zone its months are taken in), the champion and the challengers (installed versions, or
bundle files verified when the run starts). A challenger that cannot be compared with the
champion (another task, target or classes, or inputs the corpus lacks) is listed greyed with
the reason and cannot be ticked (engine.backtest.comparable).

Reading the corpus header and checking the challengers run as jobs; nothing here blocks the UI
thread.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.errors import InputError
from gui import errors
from gui.context import AppContext
from gui.pages.corpus_chooser import CorpusChooser
from gui.pages.model_picker import ModelPicker
from gui.pages.segment_choice import SegmentChoice
from gui.tasks import backtest as tasks
from gui.tasks.models import Snapshot

log = logging.getLogger(__name__)
BASE_ROLE = Qt.ItemDataRole.UserRole + 1  # the item's own text, without a reason
CHECK_KEY = "back-test challengers check"
NO_SEGMENT = "none (whole partitions only)"


class BacktestSetup(QWidget):
    changed = Signal()  # something that decides whether a run can start changed

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self._snapshot: Snapshot | None = None
        self._verdicts: dict = {}  # challenger -> None (comparable) or why not
        self._check_key: tuple | None = None  # (champion, corpus columns) last checked
        self._build()

    def _build(self) -> None:
        self.corpus = CorpusChooser(self.ctx, self, "back-test corpus header",
                                    "A CSV file, a folder of CSV files, or Parquet")
        self.corpus.changed.connect(self.changed)
        self.corpus.corpus_loaded.connect(lambda _info: self._corpus_or_champion_changed())
        self.picker = ModelPicker()
        inner = self.picker.findChild(QLabel)  # the form row names it "Champion" instead
        if inner is not None:
            inner.hide()
        self.picker.changed.connect(self._champion_changed)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.addRow("Corpus:", self.corpus.corpus_row)
        form.addRow("Time column:", self.corpus.time_row)
        form.addRow("Time zone:", self.corpus.zone_combo)
        form.addRow("Champion:", self.picker)
        self.segment = SegmentChoice(
            self.ctx, "Break the champion's metrics down by the values of one of its category "
            "inputs that the corpus has (the 20 largest, the rest as \"other\").", NO_SEGMENT)
        form.addRow("Segments:", self.segment)

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

    # -- the models ------------------------------------------------------------------------
    def set_snapshot(self, snap: Snapshot) -> None:
        self._snapshot = snap
        self.picker.set_snapshot(snap)
        self._fill_installed()

    def _champion_changed(self) -> None:
        self._fill_installed()
        self._read_segments()
        self.changed.emit()

    def _corpus_or_champion_changed(self) -> None:
        self._check_challengers()
        self._read_segments()

    # -- segments --------------------------------------------------------------------------
    def _read_segments(self) -> None:
        """Offer the champion's category inputs that the corpus has."""
        columns = None if self.corpus.info is None else list(self.corpus.info.columns)
        self.segment.load(self.picker.label(), columns)


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
        self._check_challengers()

    # -- which challengers can be compared -------------------------------------------------
    def _check_challengers(self) -> None:
        """Ask the engine which listed challengers can be compared with the champion on the
        chosen corpus; the answer greys the others (see _apply_verdicts)."""
        champion = self.picker.label()
        specs = [self.challengers.item(i).data(Qt.ItemDataRole.UserRole)
                 for i in range(self.challengers.count())]
        if champion is None or not specs:
            return
        columns = None if self.corpus.info is None else list(self.corpus.info.columns)
        key = (champion, None if columns is None else tuple(columns))
        if key != self._check_key:
            self._verdicts = {}
        self._check_key = key
        self._apply_verdicts()
        self.ctx.run(CHECK_KEY, tasks.comparable, self.ctx.workspace, champion, specs, columns,
                     key=CHECK_KEY, on_finished=self._checked,
                     on_failed=lambda exc: log.warning("challengers not checked: %s", exc))

    def _checked(self, verdicts: dict) -> None:
        # A newer check (another champion, corpus or list) supersedes this job under
        # CHECK_KEY, so a result that arrives here is the current one.
        self._verdicts.update(verdicts)
        self._apply_verdicts()

    def _apply_verdicts(self) -> None:
        before = self.chosen_challengers()
        for i in range(self.challengers.count()):
            item = self.challengers.item(i)
            reason = self._verdicts.get(item.data(Qt.ItemDataRole.UserRole))
            base = item.data(BASE_ROLE)
            if reason:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
                item.setCheckState(Qt.CheckState.Unchecked)
                item.setText(f"{base}: cannot be compared, {reason}")
                item.setToolTip(f"Cannot be compared with {self.picker.label()}: {reason}.")
            elif not item.flags() & Qt.ItemFlag.ItemIsEnabled:
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEnabled)
                item.setText(base)
                item.setToolTip(item.data(Qt.ItemDataRole.UserRole + 2) or "")
        if self.chosen_challengers() != before:
            self.changed.emit()

    def unavailable(self) -> dict:
        """The listed challengers that cannot be compared, with the reason."""
        return {k: v for k, v in self._verdicts.items() if v}

    def _add_item(self, text: str, data, checked: bool) -> QListWidgetItem:
        item = QListWidgetItem(text)
        item.setData(BASE_ROLE, text)
        item.setData(Qt.ItemDataRole.UserRole, data)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        if isinstance(data, Path):
            tip = f"{data}\nverified when the back-test starts; not installed"
            item.setToolTip(tip)
            item.setData(Qt.ItemDataRole.UserRole + 2, tip)
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
        self._check_challengers()

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
        return self.corpus.ready() and self.picker.model_id() is not None

    def setup(self) -> tasks.Setup | None:
        """The choice, or None (not ready, or an unknown time zone: its error is shown)."""
        if not self.ready():
            return None
        try:
            zone = self.corpus.timezone()
        except InputError as exc:
            errors.show_exception(self, exc)
            return None
        return tasks.Setup(self.corpus.info.path, self.corpus.time_column(),
                           self.corpus.by(), self.picker.label(),
                           tuple(self.chosen_challengers()), zone,
                           segments=self.segment.chosen())

    def set_enabled(self, enabled: bool) -> None:
        self.corpus.set_enabled(enabled)
        for w in (self.picker, self.challengers, self.add_bundle_button, self.segment):
            w.setEnabled(enabled)
        self.remove_button.setEnabled(enabled and self._file_chosen())

    def _file_chosen(self) -> bool:
        """The current challenger is a bundle file (installed versions are only unticked)."""
        item = self.challengers.currentItem()
        return item is not None and isinstance(item.data(Qt.ItemDataRole.UserRole), Path)
