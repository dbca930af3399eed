"""The workspace's health, checked at every start (the same checks as `ratchet doctor`).

A workspace the app cannot work in (its database lost, damaged or incomplete) opens on a
`HealthWindow` instead of a traceback: each problem in words, and Repair, which runs the
doctor's repair in the background and then opens the app. Lesser problems (a damaged bundle,
unreadable settings, a missing trust store, leftovers) open the app with a `HealthBanner`
above the pages, whose "Show and repair…" opens the same panel in a dialog.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.doctor import Finding
from engine.doctor.checks import FATAL, run_checks
from engine.ground.paths import Workspace
from gui import errors
from gui.context import AppContext
from gui.workers import Jobs

log = logging.getLogger(__name__)

NEEDS_BUNDLE = {"E_INSTALLED_MISSING", "E_INSTALLED_TAMPERED"}


def check_workspace(root: Path) -> list[Finding]:
    """The start-up check (quick integrity check); never raises: a check that fails is
    itself a finding."""
    try:
        return run_checks(Workspace(Path(root)), quick=True)
    except Exception as exc:
        log.warning("the workspace check failed", exc_info=True)
        return [Finding("E_CHECK_FAILED", str(root), f"the workspace {root} could not be "
                        f"checked ({type(exc).__name__}: {exc}).")]


def is_fatal(findings: list[Finding]) -> bool:
    return any(f.code in FATAL for f in findings)


def repair_workspace(root: Path, bundles: list[Path], *, progress, cancel):
    """The doctor's repair, then its checks again: (what was done, the findings after)."""
    from engine.doctor.repair import repair

    progress(0.0, "Repairing the workspace")
    said = repair(Workspace(root), bundles)
    return said, run_checks(Workspace(root))


class HealthPanel(QWidget):
    """The findings in words, with Repair (and a bundle chooser where one is needed)."""

    repaired = Signal(list, list)  # what was done, the findings after it

    def __init__(self, ctx: AppContext, findings: list[Finding], parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx, self.root, self.findings = ctx, Path(ctx.workspace), findings
        self.bundles: list[Path] = []
        self.job = None
        layout = QVBoxLayout(self)
        self.title = QLabel()
        self.title.setStyleSheet("font-size: 15px; font-weight: 600;")
        self.list = QLabel()
        self.list.setWordWrap(True)
        self.list.setTextFormat(Qt.TextFormat.RichText)
        self.list.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.outcome = QLabel()
        self.outcome.setWordWrap(True)
        self.buttons = QHBoxLayout()
        self.choose = QPushButton("Choose bundle files…")
        self.choose.clicked.connect(self._choose_bundles)
        self.repair_button = QPushButton("Repair")
        self.repair_button.clicked.connect(self.start_repair)
        self.buttons.addWidget(self.choose)
        self.buttons.addStretch(1)
        self.buttons.addWidget(self.repair_button)
        for widget in (self.title, self.list, self.outcome):
            layout.addWidget(widget)
        layout.addStretch(1)
        layout.addLayout(self.buttons)
        self.show_findings(findings)

    def show_findings(self, findings: list[Finding]) -> None:
        self.findings = findings
        count = len(findings)
        self.title.setText("The workspace is healthy." if not count else
                           f"The workspace at {self.root} has {count} problem"
                           f"{'s' if count != 1 else ''}:")
        items = []
        for f in findings:
            fix = (f"<br><i>Repair will {f.repair}.</i>" if f.repair else
                   "<br><i>Repair needs the bundle file (Choose bundle files…).</i>"
                   if f.code in NEEDS_BUNDLE else "")
            text = f.message[:1].upper() + f.message[1:]
            items.append(f"<li><p>{_html(text)}{fix}</p></li>")
        self.list.setText(f"<ul>{''.join(items)}</ul>" if items else "")
        fixable = [f for f in findings if f.repair or f.code in NEEDS_BUNDLE]
        self.choose.setVisible(any(f.code in NEEDS_BUNDLE for f in findings))
        self.repair_button.setEnabled(bool(fixable))

    def _choose_bundles(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Bundle files to repair from", "",
                                                "Ratchet bundles (*.ratchet)")
        self.bundles = [Path(p) for p in paths]
        if self.bundles:
            self.outcome.setText("Repair will use: " + ", ".join(p.name for p in self.bundles))

    def start_repair(self) -> None:
        self.repair_button.setEnabled(False)
        self.outcome.setText("Repairing…")
        self.job = self.ctx.run("repair workspace", repair_workspace, self.root, self.bundles,
                                on_finished=self._repaired, on_failed=self._failed)

    def _repaired(self, outcome) -> None:
        said, after = outcome
        self.outcome.setText("Done: " + "; ".join(said) + "." if said else
                             "Nothing could be repaired without more from you.")
        self.show_findings(after)
        self.repaired.emit(said, after)

    def _failed(self, exc: BaseException) -> None:
        self.outcome.setText("The repair failed; the workspace is as it was.")
        self.repair_button.setEnabled(True)
        errors.show_exception(self, exc)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class HealthWindow(QMainWindow):
    """What the app opens on when the workspace cannot be used; `open_app` is called once a
    repair leaves nothing fatal."""

    def __init__(self, root: Path, findings: list[Finding], open_app: Callable[[], None]):
        super().__init__()
        self.setWindowTitle("Ratchet — workspace needs repair")
        self.resize(760, 480)
        self.jobs = Jobs(self)  # the window's own: the app's do not exist yet
        self.panel = HealthPanel(AppContext(Path(root), self.jobs), findings)
        self.panel.repaired.connect(self._after_repair)
        self._open_app = open_app
        intro = QLabel("Ratchet cannot work in this workspace until it is repaired. Repair "
                       "deletes nothing: a damaged file is kept beside its replacement. Or "
                       "quit, and restore the workspace from a backup (or repair it later "
                       "with `ratchet doctor --repair`).")
        intro.setWordWrap(True)
        quit_button = QPushButton("Quit")
        quit_button.clicked.connect(self.close)
        self.panel.buttons.insertWidget(0, quit_button)
        central = QWidget()
        column = QVBoxLayout(central)
        column.addWidget(intro)
        column.addWidget(self.panel, 1)
        self.setCentralWidget(central)

    def _after_repair(self, said: list, after: list) -> None:
        if not is_fatal(after):
            self._open_app()
            self.close()

    def closeEvent(self, event) -> None:
        self.jobs.shutdown()
        super().closeEvent(event)


class HealthBanner(QWidget):
    """One line above the pages while the workspace has problems."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.findings: list[Finding] = []
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        self.setStyleSheet("background: #fff4ce; color: #5c4400;")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.details = QPushButton("Show and repair…")
        self.details.clicked.connect(self.open_panel)
        row.addWidget(self.text, 1)
        row.addWidget(self.details)
        self.hide()

    def show_findings(self, findings: list[Finding]) -> None:
        self.findings = findings
        if not findings:
            self.hide()
            return
        first = findings[0].message
        more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
        self.text.setText(f"Workspace problem{more}: {first[:1].upper()}{first[1:]}")
        self.show()

    def open_panel(self) -> None:
        dialog = QDialog(self)
        dialog.setWindowTitle("Workspace health")
        dialog.resize(720, 440)
        panel = HealthPanel(self.ctx, self.findings, dialog)
        panel.repaired.connect(lambda said, after: self.show_findings(after))
        QVBoxLayout(dialog).addWidget(panel)
        self.dialog = dialog
        dialog.open()
