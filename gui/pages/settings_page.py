"""The Settings page: the SMTP server alarm e-mails go through, who gets them, and the folders
whose new CSV files are now-tested in the background, each with its model (the table of
gui/pages/watch_folders.py, saved as the setting `watch.folders`).

The values live in the workspace settings (engine.ground.settings, the same ones `ratchet settings`
reads and writes). The password is never shown or prefilled: its field stays empty, with a
placeholder saying one is stored, and an empty field on Save keeps the stored password. Save
writes all the changed values or, when one is refused, none of them.
"""

from __future__ import annotations

import json
import logging
import re

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.errors import EngineError, InputError
from gui import dialogs, errors
from gui.colors import MUTED_STYLE, RED
from gui.context import AppContext
from gui.pages.watch_folders import WatchFoldersTable
from gui.tasks import monitor as tasks
from gui.tasks import watch_folders as folder_tasks
from gui.widgets import page_header

log = logging.getLogger(__name__)

MASK = "********"
TEXT_FIELDS = {  # key -> field label
    "smtp.host": "SMTP server",
    "smtp.port": "Port",
    "smtp.user": "User name",
    "smtp.sender": "Sender address",
    "smtp.cafile": "CA certificates (PEM)",
    "alarms.email_to": "Alarm recipients",
    "watch.settle_seconds": "Settle time (seconds)",
}
# Every setting of the page by its field's label, in the page's order (the one-folder setting
# watch.folder shows as a row of the watch-folder table).
LABELS = {key: TEXT_FIELDS.get(key) or {"smtp.starttls": "Use STARTTLS",
                                        "smtp.password": "Password",
                                        "watch.folders": "Watch folders",
                                        "watch.folder": "Watch folders"}[key]
          for key in ("smtp.host", "smtp.port", "smtp.starttls", "smtp.user", "smtp.password",
                      "smtp.cafile", "smtp.sender", "alarms.email_to", "watch.folders",
                      "watch.folder", "watch.settle_seconds")}
TRUE_TEXTS = {"true", "1", "yes", "on"}


def labelled(keys) -> str:
    """Setting keys as the operator sees them: the field labels, in the page's order."""
    labels = dict.fromkeys(LABELS[k] for k in LABELS if k in keys)
    return ", ".join(labels) or ", ".join(sorted(keys))


def relabel(text: str) -> str:
    """An engine message about a setting, naming the page's field instead of its key
    ("the setting smtp.port cannot be…" → "the field “Port” cannot be…")."""
    for key, label in LABELS.items():
        text = text.replace(f"the setting {key}", f"the field “{label}”")
        text = re.sub(rf"(?<![\w.`])(?<!set ){re.escape(key)}(?![\w`])", f"“{label}”", text)
    return text


def _relabelled(exc: BaseException) -> BaseException:
    if type(exc) in (EngineError, InputError):
        return type(exc)(relabel(exc.message), exc.code)  # type: ignore[attr-defined]
    return exc


class SettingsPage(QWidget):
    loaded = Signal(object)  # list[dict] from describe_settings
    saved = Signal(object)  # the keys that changed (a set)
    test_sent = Signal(str)  # the recipients

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.rows: dict[str, dict] = {}  # key -> describe_settings row, as last loaded
        self._busy = False
        self._build()
        self._set_busy(True)  # until the values are loaded

    def _build(self) -> None:
        header, _ = page_header(
            "Settings", "Where alarm e-mails go and which folders are watched for new data. "
            "These settings belong to this workspace and are shared with `ratchet settings`.")
        self.fields: dict[str, QLineEdit] = {key: QLineEdit() for key in TEXT_FIELDS}
        self.starttls = QCheckBox("Use STARTTLS (encrypt the connection)")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.fields["smtp.port"].setMaximumWidth(90)
        self.fields["watch.settle_seconds"].setMaximumWidth(90)
        self.fields["alarms.email_to"].setPlaceholderText("ops@example.org, lead@example.org")

        mail = QGroupBox("Alarm e-mail")
        form = QFormLayout(mail)
        for key in ("smtp.host", "smtp.port"):
            form.addRow(TEXT_FIELDS[key] + ":", self.fields[key])
        form.addRow("", self.starttls)
        form.addRow(TEXT_FIELDS["smtp.user"] + ":", self.fields["smtp.user"])
        form.addRow("Password:", self.password)
        self.fields["smtp.cafile"].setPlaceholderText("(the system's certificate authorities)")
        for key in ("smtp.cafile", "smtp.sender", "alarms.email_to"):
            form.addRow(TEXT_FIELDS[key] + ":", self.fields[key])
        self.test_button = QPushButton("Send test e-mail")
        self.test_button.setToolTip("Sends a test message to the alarm recipients through "
                                    "the saved server; unsaved changes are saved first, when "
                                    "you agree.")
        self.test_button.clicked.connect(self.send_test)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addStretch(1)
        form.addRow("", test_row)

        watch = QGroupBox("Watch folders")
        wform = QFormLayout(watch)
        self.watch_folders = WatchFoldersTable(
            lambda: self.ctx.settings.last_input_dir or "")
        self.watch_folders.changed.connect(self._edited)
        wform.addRow(self.watch_folders)
        wform.addRow(TEXT_FIELDS["watch.settle_seconds"] + ":",
                     self.fields["watch.settle_seconds"])
        note = QLabel("Every new CSV file in these folders is now-tested once, with the "
                      "folder's model, after it has not changed for the settle time (so a "
                      "file still being copied is not read half). A file without that model's "
                      "input columns raises a watch-folder alarm.")
        note.setWordWrap(True)
        note.setStyleSheet(MUTED_STYLE)
        wform.addRow("", note)

        self.save_button = QPushButton("Save")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(lambda _checked=False: self.save())
        self.message = QLabel()
        self.message.setWordWrap(True)
        self._error_shown = False
        for field in self.fields.values():
            field.textEdited.connect(self._edited)
        self.password.textEdited.connect(self._edited)
        self.starttls.clicked.connect(self._edited)
        buttons = QHBoxLayout()
        buttons.addWidget(self.message, 1)
        buttons.addWidget(self.save_button)

        layout = QVBoxLayout(self)
        layout.addWidget(header)
        layout.addWidget(mail)
        layout.addWidget(watch)
        layout.addLayout(buttons)
        layout.addStretch(1)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for w in (self.save_button, self.test_button):
            w.setEnabled(not busy)
        self.watch_folders.set_busy(busy)

    def _say(self, text: str, error: bool = False) -> None:
        self._error_shown = error and bool(text)
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {RED.name()};" if error else MUTED_STYLE)

    def _edited(self, *_args) -> None:
        """A field changed since the last Save failed: its "Not saved…" no longer holds."""
        if self._error_shown:
            self._say("")

    # -- loading ---------------------------------------------------------------------------
    def refresh(self) -> None:
        self._set_busy(True)
        self.ctx.run("read settings", folder_tasks.describe_with_models, self.ctx.workspace,
                     on_finished=self._loaded_with_models, on_failed=self._read_failed)

    def _loaded_with_models(self, found: tuple[list[dict], list[str]]) -> None:
        rows, models = found
        self.watch_folders.models = list(models)
        self._loaded(rows)

    def _loaded(self, rows: list[dict]) -> None:
        self.rows = {r["key"]: r for r in rows}
        self.watch_folders.set_bindings(self._stored_folders())
        for key, field in self.fields.items():
            field.setText(self._shown(key))
        self.starttls.setChecked(self._shown("smtp.starttls").lower() in TRUE_TEXTS)
        self.password.clear()  # never prefilled
        stored = bool(self._shown("smtp.password"))
        self.password.setPlaceholderText(
            f"{MASK}  (stored; type a new one to replace it)" if stored else "(none stored)")
        self._set_busy(False)
        self.loaded.emit(rows)

    def _shown(self, key: str) -> str:
        value = (self.rows.get(key) or {}).get("value")
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def _stored_folders(self) -> list[dict]:
        """The watch folders as loaded: `watch.folders`, then `watch.folder` (by header)
        unless listed there (engine.ground.watch_folders.watch_bindings)."""
        folders = (self.rows.get("watch.folders") or {}).get("value") or []
        out = [{"folder": f["folder"], "model": f.get("model")} for f in folders]
        single = self._shown("watch.folder")
        if single and not any(f["folder"] == single for f in out):
            out.append({"folder": single, "model": None})
        return out

    # -- saving ----------------------------------------------------------------------------
    def changes(self) -> dict[str, str]:
        """The settings whose field differs from what was loaded (a typed password only).
        A changed watch-folder table is saved whole as `watch.folders` (a JSON list, so any
        path survives), taking in the one-folder `watch.folder`, which is then cleared."""
        out = {key: field.text().strip() for key, field in self.fields.items()
               if field.text().strip() != self._shown(key)}
        folders = self.watch_folders.bindings()
        if folders != self._stored_folders():
            out["watch.folders"] = json.dumps(folders)
            if self._shown("watch.folder"):
                out["watch.folder"] = ""
        tls = "true" if self.starttls.isChecked() else "false"
        if tls != ("true" if self._shown("smtp.starttls").lower() in TRUE_TEXTS else "false"):
            out["smtp.starttls"] = tls
        if self.password.text():
            out["smtp.password"] = self.password.text()
        return out

    def save(self, then=None) -> None:
        if self._busy:
            return
        changes = self.changes()
        if not changes:
            self._say("Nothing changed.")
            if then is not None:
                then()
            return
        self._set_busy(True)
        log.info("saving settings: %s", ", ".join(sorted(changes)))  # names, never values
        self.ctx.run("save settings", tasks.save_changes, self.ctx.workspace, changes,
                     on_finished=lambda rows: self._saved(rows, set(changes), then),
                     on_failed=self._failed)

    def _saved(self, rows: list[dict], keys: set[str], then) -> None:
        self._loaded(rows)
        self._say(f"Saved: {labelled(keys)}.")
        self.saved.emit(keys)
        if then is not None:
            then()

    def _read_failed(self, exc: BaseException) -> None:
        """Settings that cannot be read are a workspace problem the health banner already
        names (with its repair): said here on the page, not in a dialog at every start."""
        self._set_busy(False)
        if not isinstance(exc, EngineError):
            errors.show_exception(self, exc)
            return
        self._say(f"{exc.message[:1].upper()}{exc.message[1:]} Use “Show and repair…” at the "
                  "top of the window (or `ratchet doctor --repair`).", error=True)

    def _failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        exc = _relabelled(exc)
        reason = getattr(exc, "message", "")
        self._say(f"Not saved: nothing was changed. {reason[:1].upper()}{reason[1:]}".strip()
                  if self.rows else "", error=True)
        errors.show_exception(self, exc)

    # -- the test e-mail -------------------------------------------------------------------
    def send_test(self) -> None:
        """The test goes through the saved settings: changes on the page are saved first
        only when the operator agrees (else nothing is sent and nothing saved)."""
        if self._busy:
            return
        changes = self.changes()
        if changes and not dialogs.confirm(
                self, "Save the changes first?",
                f"The test e-mail goes through the saved settings. You changed: "
                f"{labelled(changes)}.\n\nSave these changes now, then send the test?"):
            self._say("Nothing was sent and nothing saved: the changes are still on the page.")
            return
        self.save(then=self._send_saved)

    def _send_saved(self) -> None:
        self._set_busy(True)
        self._say("Sending a test e-mail…")
        self.ctx.run("test e-mail", tasks.send_test, self.ctx.workspace,
                     on_finished=self._sent, on_failed=self._send_failed)

    def _sent(self, recipients: str) -> None:
        self._set_busy(False)
        self._say(f"Test e-mail sent to {recipients}. Check that it arrived.")
        self.test_sent.emit(recipients)

    def _send_failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        self._say("The test e-mail was not sent.", error=True)
        errors.show_exception(self, exc)
