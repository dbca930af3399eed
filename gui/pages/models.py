"""The Models page: what is installed, which version is active, who signed it, until when, and
what happened to it; importing a bundle (verified and described in plain words before anything
changes), activating another version and rolling back, each confirmed, recorded by the engine.

Reads and changes both run as jobs (the registry's SQLite connection never touches the UI
thread); after every change the page reloads its snapshot and tells the window.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gui import dialogs, errors
from gui.context import AppContext
from gui.pages import models_tables as tables
from gui.tasks import models as tasks
from gui.widgets import ProgressPanel, page_header

log = logging.getLogger(__name__)


class ModelsPage(QWidget):
    snapshot_loaded = Signal(object)  # tasks.Snapshot
    changed = Signal()  # a model was installed, activated or rolled back
    busy_changed = Signal(bool)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.snapshot: tasks.Snapshot | None = None
        self.busy = False
        self._build()
        self._update_buttons()

    def _build(self) -> None:
        header, _ = page_header(
            "Models", "The models installed on this workstation. Predictions use the active "
            "version. Every import, activation and rollback is confirmed first and recorded.")
        self.import_button = QPushButton("Import bundle…")
        self.import_button.clicked.connect(self.choose_bundle)
        self.activate_button = QPushButton("Activate selected version")
        self.activate_button.clicked.connect(self.activate_selected)
        self.rollback_button = QPushButton("Roll back")
        self.rollback_button.clicked.connect(self.rollback_selected)
        self.deactivate_button = QPushButton("Deactivate model")
        self.deactivate_button.clicked.connect(self.deactivate_selected)
        self.deactivate_button.setToolTip(
            "Stop using this model: it stays installed with its history and is never chosen "
            "for a file until a version is activated again. Recorded.")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        bar = QHBoxLayout()
        for w in (self.import_button, self.activate_button, self.rollback_button,
                  self.deactivate_button):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.refresh_button)

        self.versions = tables.versions_table()
        self.versions.currentCellChanged.connect(lambda *_: self._selection_changed())
        self.history_title = QLabel("History")
        font = self.history_title.font()
        font.setBold(True)
        self.history_title.setFont(font)
        self.history = tables.history_table()
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 6, 0, 0)
        lower_layout.addWidget(self.history_title)
        lower_layout.addWidget(self.history)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.versions)
        split.addWidget(lower)
        split.setChildrenCollapsible(False)
        split.setSizes([220, 320])

        self.progress = ProgressPanel()
        self.progress.cancel_button.hide()  # verifying and installing take a moment; no cancel
        self.progress.hide()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.addWidget(header)
        layout.addLayout(bar)
        layout.addWidget(split, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)

    # -- busy state and buttons ------------------------------------------------------------
    def _set_busy(self, busy: bool, message: str = "") -> None:
        self.busy = busy
        if busy:
            self.progress.start(message, busy=True)
        else:
            self.progress.stop()
        self._update_buttons()
        self.busy_changed.emit(busy)

    def selected(self):
        return tables.selected_version(self.versions, self.snapshot)

    def _update_buttons(self) -> None:
        chosen = self.selected()
        self.import_button.setEnabled(not self.busy)
        self.refresh_button.setEnabled(not self.busy)
        self.activate_button.setEnabled(not self.busy and chosen is not None
                                        and not chosen.active)
        target = None
        if chosen is not None and self.snapshot is not None:
            target = self.snapshot.rollback_target(chosen.model_id)
        self.rollback_button.setEnabled(not self.busy and target is not None)
        active = None
        if chosen is not None and self.snapshot is not None:
            active = self.snapshot.active_version(chosen.model_id)
        self.deactivate_button.setEnabled(not self.busy and active is not None)
        self.deactivate_button.setText("Deactivate model" if chosen is None
                                       else f"Deactivate {chosen.model_id}")
        self.rollback_button.setText("Roll back" if target is None
                                     else f"Roll back to version {target}")
        self.rollback_button.setToolTip(
            "Re-activate the version that was active before the current one."
            if target is not None else "There is no earlier version to go back to.")

    def _selection_changed(self) -> None:
        chosen = self.selected()
        if chosen is not None and self.snapshot is not None:
            self.history_title.setText(f"History of {chosen.model_id}")
            tables.fill_history(self.history, self.snapshot.history.get(chosen.model_id, []))
        self._update_buttons()

    # -- reading ---------------------------------------------------------------------------
    def refresh(self, select: tuple[str, int | None] | None = None) -> None:
        """Reload the registry in the background; then select ``select`` (model, version),
        else keep the selection, else the active model."""
        chosen = self.selected()
        keep = select or ((chosen.model_id, chosen.version) if chosen else None)
        # only the latest refresh is shown (a newer one supersedes a read still running)
        self.ctx.run("models snapshot", tasks.snapshot, self.ctx.workspace,
                     key="models snapshot", on_failed=self._failed,
                     on_finished=lambda snap: self._loaded(snap, keep))

    def _loaded(self, snap: tasks.Snapshot, keep: tuple[str, int | None] | None) -> None:
        self.snapshot = snap
        tables.fill_versions(self.versions, snap)
        if keep is None and snap.active_label:
            model_id, _, version = snap.active_label.partition("@")
            keep = (model_id, int(version))
        if keep is not None:
            model_id, version = keep
            tables.select_version(self.versions, model_id,
                                  version if version is not None
                                  else snap.active_version(model_id))
        if not snap.versions:
            self.history_title.setText("History")
            self.history.setRowCount(0)
            self.message.setText("No model is installed. Import a bundle (*.ratchet) from "
                                 "its publisher.")
        self._selection_changed()
        self.snapshot_loaded.emit(snap)

    def _failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        self.message.setText("Nothing was changed.")
        errors.show_exception(self, exc)

    # -- import ----------------------------------------------------------------------------
    def choose_bundle(self) -> None:
        start = self.ctx.settings.last_bundle_dir or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Import a model bundle", start,
                                              "Ratchet bundles (*.ratchet);;All files (*)")
        if path:
            self.ctx.settings.last_bundle_dir = str(Path(path).parent)
            self.import_bundle_file(Path(path))

    def import_bundle_file(self, path: Path) -> None:
        """Verify ``path`` in the background, then describe it and ask before installing."""
        if self.busy:
            return
        self.message.setText("")
        self._set_busy(True, f"Verifying {Path(path).name}…")
        self.ctx.run("verify bundle", tasks.verify_file, self.ctx.workspace, Path(path),
                     on_finished=self._verified, on_failed=self._failed)

    def _verified(self, verdict: tasks.Verdict) -> None:
        self._set_busy(False)
        what = f"{verdict.model_id} version {verdict.version}"
        if verdict.already_accepted and verdict.installed:
            self.message.setText(f"{what} is already installed; nothing was changed.")
            return
        current = verdict.active_version
        replaces = (f" It replaces version {current} for all predictions from now on."
                    if current is not None and current != verdict.version else "")
        text = (f"Verified: {what}, signed by "
                f"{tables.signer_text(verdict.signers, verdict.signer_names)}, expires "
                f"{verdict.expires}. Its {verdict.cases} regression cases pass.{replaces}\n\n"
                "Install and activate it?")
        if not dialogs.confirm(self, "Install this model?", text):
            self.message.setText(f"{what} was verified but not installed; nothing was changed.")
            return
        self._set_busy(True, f"Installing {what}…")
        self.ctx.run("import bundle", tasks.import_verified, self.ctx.workspace, verdict.data,
                     on_finished=self._imported, on_failed=self._failed)

    def _imported(self, outcome: tuple[str, int, str]) -> None:
        model_id, version, status = outcome
        self._set_busy(False)
        log.info("import from the app: %s@%s %s", model_id, version, status)
        self.message.setText(f"Installed and activated {model_id} version {version}.")
        self._after_change(model_id, version)

    # -- activate and roll back ------------------------------------------------------------
    def activate_selected(self) -> None:
        chosen = self.selected()
        if chosen is None or chosen.active or self.busy or self.snapshot is None:
            return
        current = self.snapshot.active_version(chosen.model_id)
        before = f" instead of version {current}" if current is not None else ""
        if not dialogs.confirm(self, "Activate this version?",
                               f"Activate {chosen.model_id} version {chosen.version}{before}? "
                               "Predictions use it from now on; the change is recorded."):
            return
        self._set_busy(True, f"Activating {chosen.model_id} version {chosen.version}…")
        self.ctx.run("activate", tasks.activate, self.ctx.workspace, chosen.model_id,
                     chosen.version, on_failed=self._failed,
                     on_finished=lambda status: self._changed(
                         chosen.model_id, chosen.version, f"Activated {chosen.model_id} "
                         f"version {chosen.version}."))

    def rollback_selected(self) -> None:
        chosen = self.selected()
        if chosen is None or self.busy or self.snapshot is None:
            return
        model_id = chosen.model_id
        current = self.snapshot.active_version(model_id)
        target = self.snapshot.rollback_target(model_id)
        if target is None or not dialogs.confirm(
                self, "Roll back?", f"Roll back {model_id} from version {current} to version "
                f"{target}? Predictions use version {target} from now on; the rollback is "
                "recorded."):
            return
        self._set_busy(True, f"Rolling back {model_id}…")
        self.ctx.run("rollback", tasks.rollback, self.ctx.workspace, model_id,
                     on_failed=self._failed,
                     on_finished=lambda outcome: self._changed(
                         model_id, outcome[0], f"Rolled back {model_id} from version "
                         f"{current} to version {outcome[0]}."))

    def deactivate_selected(self) -> None:
        chosen = self.selected()
        if chosen is None or self.busy or self.snapshot is None:
            return
        model_id = chosen.model_id
        current = self.snapshot.active_version(model_id)
        if current is None or not dialogs.confirm(
                self, "Deactivate this model?",
                f"Deactivate {model_id} (version {current} is active)? It stays installed "
                "with its history, but no file is predicted or now-tested with it until you "
                "activate a version again. The deactivation is recorded."):
            return
        self._set_busy(True, f"Deactivating {model_id}…")
        self.ctx.run("deactivate", tasks.deactivate, self.ctx.workspace, model_id,
                     on_failed=self._failed,
                     on_finished=lambda version: self._changed(
                         model_id, version, f"Deactivated {model_id} (version {version} was "
                         "active). Select a version and press Activate to use it again."))

    def _changed(self, model_id: str, version: int, message: str) -> None:
        self._set_busy(False)
        self.message.setText(message)
        self._after_change(model_id, version)

    def _after_change(self, model_id: str, version: int) -> None:
        self.refresh(select=(model_id, version))
        self.changed.emit()
