"""The promotion gate's choices: the candidate (a bundle file, verified but not installed, or an
installed version that is not active), the corpus with its time column and partitioning (the
back-test's), the latest data to now-test it on (optional), the margin (optional) and the
tolerance. Reading the corpus header runs as a job (the Back-test page's task). A candidate
the gate cannot compare with its champion (no active version of its model, another target or
classes, inputs the corpus lacks) is listed greyed with the reason and cannot be chosen
(engine.backtest.comparable, checked as a job)."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from engine.errors import InputError
from engine.trial.gate import TOLERANCE
from gui import errors
from gui.context import AppContext
from gui.pages.corpus_chooser import CorpusChooser, show_path
from gui.tasks import trial as tasks
from gui.tasks.trial import GateSetup

log = logging.getLogger(__name__)
BASE_ROLE = Qt.ItemDataRole.UserRole + 1  # the item's own text, without a reason
CHECK_KEY = "gate candidates check"


def _path_edit(placeholder: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setReadOnly(True)
    edit.setPlaceholderText(placeholder)
    return edit


class GateForm(QWidget):
    changed = Signal()  # something that decides whether the gate can run changed

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.latest: Path | None = None
        self._verdicts: dict = {}  # candidate -> None (comparable) or why not
        self._check_key: tuple | None = None  # the corpus columns last checked with
        self._build()

    def _build(self) -> None:
        self.candidate_combo = QComboBox()
        self.candidate_combo.setMinimumContentsLength(34)
        self.candidate_combo.setPlaceholderText("Choose a bundle file or an installed version")
        self.candidate_combo.setToolTip("A bundle file is verified but not installed by the "
                                        "gate; an installed version must not be the active one")
        self.candidate_combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.bundle_button = QPushButton("Bundle file…")
        self.bundle_button.clicked.connect(self._choose_bundle)
        candidate_row = QHBoxLayout()
        candidate_row.addWidget(self.candidate_combo, 1)
        candidate_row.addWidget(self.bundle_button)

        self.corpus = CorpusChooser(self.ctx, self, "gate corpus header",
                                    "The history to back-test on: a CSV or Parquet file, or a "
                                    "folder of them")
        self.corpus.changed.connect(self.changed)
        self.corpus.corpus_loaded.connect(lambda _info: self._check_candidates())

        self.latest_edit = _path_edit("Optional: the latest data, now-tested with the "
                                      "candidate (no metric alarm allowed)")
        self.latest_button = QPushButton("File…")
        self.latest_button.clicked.connect(self._choose_latest)
        self.latest_clear = QPushButton("Clear")
        self.latest_clear.clicked.connect(lambda: self.set_latest(None))
        latest_row = QHBoxLayout()
        latest_row.addWidget(self.latest_edit, 1)
        latest_row.addWidget(self.latest_button)
        latest_row.addWidget(self.latest_clear)

        self.margin_check = QCheckBox("Beat the champion by at least")
        self.margin_check.setToolTip("Without a margin, the 95% interval of the difference on "
                                     "the primary metric must exclude zero")
        self.margin_spin = QDoubleSpinBox()
        self.margin_spin.setDecimals(3)
        self.margin_spin.setRange(0.0, 1.0)
        self.margin_spin.setSingleStep(0.005)
        self.margin_spin.setValue(0.005)
        self.margin_spin.setEnabled(False)
        self.margin_check.toggled.connect(self.margin_spin.setEnabled)
        self.tolerance_spin = QDoubleSpinBox()
        self.tolerance_spin.setDecimals(3)
        self.tolerance_spin.setRange(0.0, 1.0)
        self.tolerance_spin.setSingleStep(0.005)
        self.tolerance_spin.setValue(TOLERANCE)
        self.tolerance_spin.setToolTip("The most any partition may be worse than the "
                                       "champion's on the primary metric")
        rule_row = QHBoxLayout()
        rule_row.addWidget(self.margin_check)
        rule_row.addWidget(self.margin_spin)
        rule_row.addSpacing(16)
        rule_row.addWidget(QLabel("No partition worse by more than:"))
        rule_row.addWidget(self.tolerance_spin)
        rule_row.addStretch(1)

        for signal in (self.margin_check.toggled,
                       self.margin_spin.valueChanged, self.tolerance_spin.valueChanged):
            signal.connect(lambda *_: self.changed.emit())

        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.addRow("Candidate:", candidate_row)
        form.addRow("Corpus:", self.corpus.corpus_row)
        form.addRow("Time column:", self.corpus.time_row)
        form.addRow("Time zone:", self.corpus.zone_combo)
        form.addRow("Latest data:", latest_row)
        form.addRow("Rule:", rule_row)

    # -- the candidate ---------------------------------------------------------------------
    def set_candidates(self, installed: list[str]) -> None:
        """The installed versions that are not active; chosen bundle files and the choice
        are kept."""
        chosen = self.candidate()
        files = [self.candidate_combo.itemData(i) for i in range(self.candidate_combo.count())
                 if isinstance(self.candidate_combo.itemData(i), Path)]
        self.candidate_combo.blockSignals(True)
        self.candidate_combo.clear()
        for path in files:
            self._add(f"{path.name}  (bundle file)", path)
        for label in installed:
            self._add(f"{label}  (installed, not active)", label)
        index = self.candidate_combo.findData(chosen) if chosen is not None else -1
        self.candidate_combo.setCurrentIndex(index)
        self.candidate_combo.blockSignals(False)
        if self.candidate() != chosen:
            self.changed.emit()
        self._check_candidates()

    def _add(self, text: str, data, at: int | None = None) -> None:
        combo = self.candidate_combo
        at = combo.count() if at is None else at
        combo.insertItem(at, text, data)
        combo.setItemData(at, text, BASE_ROLE)

    def set_candidate(self, spec: str | Path) -> None:
        """Choose a bundle file (added to the list) or an installed version."""
        index = self.candidate_combo.findData(spec)
        if index < 0 and isinstance(spec, Path):
            self._add(f"{spec.name}  (bundle file)", spec, 0)
            self.candidate_combo.setItemData(0, str(spec), Qt.ItemDataRole.ToolTipRole)
            index = 0
            self._check_candidates()
        self.candidate_combo.setCurrentIndex(index)

    # -- which candidates can be compared --------------------------------------------------
    def _check_candidates(self) -> None:
        """Ask the engine which listed candidates the gate can compare with their champion
        on the chosen corpus; the answer greys the others."""
        combo = self.candidate_combo
        specs = [combo.itemData(i) for i in range(combo.count())]
        if not specs:
            return
        columns = None if self.corpus.info is None else list(self.corpus.info.columns)
        key = (None if columns is None else tuple(columns), tuple(map(str, specs)))
        if key[0] != (self._check_key or (None,))[0]:
            self._verdicts = {}
        self._check_key = key
        self._apply_verdicts()
        self.ctx.run(CHECK_KEY, tasks.comparable, self.ctx.workspace, specs, columns,
                     key=CHECK_KEY, on_finished=self._checked,
                     on_failed=lambda exc: log.warning("candidates not checked: %s", exc))

    def _checked(self, verdicts: dict) -> None:
        # A newer check (another champion, corpus or list) supersedes this job under
        # CHECK_KEY, so a result that arrives here is the current one.
        self._verdicts.update(verdicts)
        self._apply_verdicts()

    def _apply_verdicts(self) -> None:
        combo = self.candidate_combo
        model = combo.model()
        for i in range(combo.count()):
            reason = self._verdicts.get(combo.itemData(i))
            item = model.item(i)
            base = combo.itemData(i, BASE_ROLE)
            if reason:
                item.setEnabled(False)
                combo.setItemText(i, f"{base}: cannot be compared, {reason}")
                combo.setItemData(i, f"Cannot be gated: {reason}.",
                                  Qt.ItemDataRole.ToolTipRole)
                if combo.currentIndex() == i:
                    combo.setCurrentIndex(-1)  # emits changed: the gate cannot run on it
            elif not item.isEnabled():
                item.setEnabled(True)
                combo.setItemText(i, base)
                data = combo.itemData(i)
                combo.setItemData(i, str(data) if isinstance(data, Path) else None,
                                  Qt.ItemDataRole.ToolTipRole)

    def unavailable(self) -> dict:
        """The listed candidates the gate cannot compare, with the reason."""
        return {k: v for k, v in self._verdicts.items() if v}

    def candidate(self) -> str | Path | None:
        return self.candidate_combo.currentData()

    def _choose_bundle(self) -> None:
        start = self.ctx.settings.last_bundle_dir or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Choose the candidate bundle", start,
                                              "Ratchet bundles (*.ratchet);;All files (*)")
        if path:
            self.ctx.settings.last_bundle_dir = str(Path(path).parent)
            self.set_candidate(Path(path))

    # -- the latest data ------------------------------------------------------------------
    def _choose_latest(self) -> None:
        start = self.ctx.settings.last_input_dir or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Choose the latest data", start,
                                              "CSV files (*.csv);;All files (*)")
        if path:
            self.ctx.settings.last_input_dir = str(Path(path).parent)
            self.set_latest(Path(path))

    def set_latest(self, path: Path | None) -> None:
        self.latest = None if path is None else Path(path)
        show_path(self.latest_edit, self.latest)
        self.latest_clear.setEnabled(self.latest is not None)
        self.changed.emit()

    # -- the whole choice ------------------------------------------------------------------
    def ready(self) -> bool:
        return self.candidate() is not None and self.corpus.ready()

    def setup(self) -> GateSetup | None:
        """The choice, or None (not ready, or an unknown time zone: its error is shown)."""
        if not self.ready():
            return None
        try:
            zone = self.corpus.timezone()
        except InputError as exc:
            errors.show_exception(self, exc)
            return None
        return GateSetup(self.candidate(), self.corpus.info.path, self.corpus.time_column(),
                         self.corpus.by(), self.latest,
                         round(self.margin_spin.value(), 6) if self.margin_check.isChecked()
                         else None, round(self.tolerance_spin.value(), 6), zone)

    def set_enabled(self, enabled: bool) -> None:
        self.corpus.set_enabled(enabled)
        for w in (self.candidate_combo, self.bundle_button, self.latest_button,
                  self.margin_check, self.tolerance_spin):
            w.setEnabled(enabled)
        self.latest_clear.setEnabled(enabled and self.latest is not None)
        self.margin_spin.setEnabled(enabled and self.margin_check.isChecked())
