"""The Settings page with its real jobs and the real workspace settings file: a round trip, a bad
value refused by name with nothing saved, the password never shown, and the test e-mail sent to
a real SMTP server on 127.0.0.1."""

import json
import logging
import socket

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QLineEdit

from engine.errors import InputError
from engine.ground.settings import load_settings, set_setting, settings_path
from gui.pages.settings_page import SettingsPage
from tests.gui.kit import TIMEOUT_MS

SECRET = "s3cret-Pa55"


@pytest.fixture
def page(ctx, qtbot):
    widget = SettingsPage(ctx)
    qtbot.addWidget(widget)
    widget.show()
    with qtbot.waitSignal(widget.loaded, timeout=TIMEOUT_MS):
        widget.refresh()
    return widget


def save(page, qtbot):
    with qtbot.waitSignal(page.saved, timeout=TIMEOUT_MS) as saved:
        qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    return saved.args[0]


def test_values_round_trip_through_the_workspace_settings(page, ctx, qtbot, tmp_path,
                                                           monkeypatch):
    assert page.fields["smtp.port"].text() == "587" and page.starttls.isChecked()
    watch = tmp_path / "incoming"
    watch.mkdir()
    page.fields["smtp.host"].setText("mail.example.org")
    page.fields["smtp.port"].setText("2525")
    page.starttls.setChecked(False)
    page.fields["smtp.user"].setText("ratchet")
    page.password.setText(SECRET)
    page.fields["smtp.sender"].setText("ratchet@example.org")
    page.fields["alarms.email_to"].setText("ops@example.org; lead@example.org")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: str(watch)))
    qtbot.mouseClick(page.watch_folders.add_button, Qt.MouseButton.LeftButton)
    assert page.watch_folders.bindings() == [{"folder": str(watch), "model": None}]
    page.fields["watch.settle_seconds"].setText("0.5")

    keys = save(page, qtbot)
    assert keys == {"smtp.host", "smtp.port", "smtp.starttls", "smtp.user", "smtp.password",
                    "smtp.sender", "alarms.email_to", "watch.folders", "watch.settle_seconds"}
    stored = load_settings(ctx.workspace)
    assert stored["smtp.host"] == "mail.example.org" and stored["smtp.port"] == 2525
    assert stored["smtp.starttls"] is False and stored["smtp.password"] == SECRET
    assert stored["alarms.email_to"] == "ops@example.org, lead@example.org"
    assert stored["watch.folders"] == [{"folder": str(watch.resolve()), "model": None}]
    assert stored["watch.settle_seconds"] == 0.5
    assert "Saved:" in page.message.text()

    # a fresh page shows what is stored (the recipients as the engine normalised them)
    again = SettingsPage(ctx)
    qtbot.addWidget(again)
    with qtbot.waitSignal(again.loaded, timeout=TIMEOUT_MS):
        again.refresh()
    assert again.fields["smtp.port"].text() == "2525" and not again.starttls.isChecked()
    assert again.fields["alarms.email_to"].text() == "ops@example.org, lead@example.org"
    assert again.changes() == {}  # nothing to save: the password field stays empty
    again.fields["smtp.user"].setText("other")
    assert again.changes() == {"smtp.user": "other"}  # the stored password is kept
    save(again, qtbot)
    assert load_settings(ctx.workspace)["smtp.password"] == SECRET


def test_the_password_is_never_shown_nor_prefilled(page, ctx, qtbot, caplog):
    caplog.set_level(logging.DEBUG)
    assert page.password.echoMode() == QLineEdit.EchoMode.Password
    assert page.password.placeholderText() == "(none stored)"
    page.password.setText(SECRET)
    save(page, qtbot)
    assert page.password.text() == ""  # cleared after saving, not kept in the widget
    assert page.password.placeholderText().startswith("********")
    assert SECRET not in caplog.text
    texts = [w.text() for w in page.findChildren(QLineEdit)] + [page.message.text()]
    assert all(SECRET not in t for t in texts)
    assert json.loads(settings_path(ctx.workspace).read_text())["values"]["smtp.password"] \
        == SECRET  # stored (0600) for the e-mail sender, shown nowhere


def test_a_bad_value_is_refused_by_name_and_nothing_is_saved(page, ctx, qtbot,
                                                              shown_errors):
    set_setting(ctx.workspace, "smtp.host", "mail.example.org")
    before = settings_path(ctx.workspace).read_bytes()
    page.fields["smtp.host"].setText("other.example.org")  # valid, but saved with the rest
    page.fields["smtp.port"].setText("seventy")
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(shown_errors) > 0, timeout=TIMEOUT_MS)
    exc = shown_errors[0]
    assert isinstance(exc, InputError) and exc.code == "E_SETTING_VALUE"
    # named by the field's label, as the operator sees it (not the key smtp.port)
    assert "the field “Port” cannot be 'seventy'" in exc.message
    assert "smtp.port" not in exc.message
    assert settings_path(ctx.workspace).read_bytes() == before
    assert "nothing was changed" in page.message.text()
    assert "The field “Port” cannot be 'seventy'" in page.message.text()
    assert page.save_button.isEnabled()  # the operator can fix it and save again


def test_a_watch_folder_that_does_not_exist_is_refused(page, ctx, qtbot, shown_errors,
                                                       tmp_path):
    page.watch_folders.add_folder(str(tmp_path / "nowhere"))
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(shown_errors) > 0, timeout=TIMEOUT_MS)
    assert "“Watch folders”" in shown_errors[0].message
    assert "does not exist" in shown_errors[0].message
    assert load_settings(ctx.workspace)["watch.folders"] == []


def test_send_test_email_reaches_a_real_smtp_server(page, ctx, qtbot, answers):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received = []

    class Keep(Message):
        def handle_message(self, message):
            received.append(message)

    with socket.socket() as probe:  # a free port (the controller cannot take port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        page.fields["smtp.host"].setText("127.0.0.1")
        page.fields["smtp.port"].setText(str(port))
        page.starttls.setChecked(False)
        page.fields["alarms.email_to"].setText("ops@example.org")
        with qtbot.waitSignal(page.test_sent, timeout=TIMEOUT_MS) as sent:
            qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
        assert sent.args == ["ops@example.org"]
        qtbot.waitUntil(lambda: len(received) > 0, timeout=TIMEOUT_MS)
    finally:
        controller.stop()
    assert received[0]["To"] == "ops@example.org"
    assert "Test e-mail sent to ops@example.org" in page.message.text()
    assert load_settings(ctx.workspace)["smtp.host"] == "127.0.0.1"  # saved first, asked
    assert answers.asked == ["The test e-mail goes through the saved settings. You changed: "
                             "SMTP server, Port, Use STARTTLS, Alarm recipients.\n\nSave these "
                             "changes now, then send the test?"]


def test_send_test_email_saves_nothing_unless_agreed(page, ctx, qtbot, answers):
    from PySide6.QtWidgets import QMessageBox

    before = settings_path(ctx.workspace).read_bytes() \
        if settings_path(ctx.workspace).exists() else None
    page.fields["smtp.host"].setText("mail.example.org")
    answers.replies.append(QMessageBox.StandardButton.No)
    qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
    assert len(answers.asked) == 1 and "Nothing was sent" in page.message.text()
    assert page.fields["smtp.host"].text() == "mail.example.org"  # still on the page
    after = settings_path(ctx.workspace).read_bytes() \
        if settings_path(ctx.workspace).exists() else None
    assert after == before and not ctx.jobs.running()


def test_saved_names_the_fields_by_their_labels(page, qtbot):
    page.fields["smtp.port"].setText("2525")
    page.fields["smtp.host"].setText("mail.example.org")
    assert save(page, qtbot) == {"smtp.host", "smtp.port"}
    assert page.message.text() == "Saved: SMTP server, Port."


def test_correcting_a_refused_field_clears_not_saved(page, ctx, qtbot, shown_errors):
    page.fields["smtp.port"].setText("seventy")
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(shown_errors) > 0, timeout=TIMEOUT_MS)
    assert page.message.text().startswith("Not saved")
    page.fields["smtp.port"].clear()
    qtbot.keyClicks(page.fields["smtp.port"], "587")  # typed: the message was about "seventy"
    assert page.message.text() == ""


def test_unreadable_settings_are_said_on_the_page_not_in_a_dialog(ctx, qtbot, shown_errors):
    (ctx.workspace / "settings.json").write_text("{not json")
    widget = SettingsPage(ctx)
    qtbot.addWidget(widget)
    widget.show()
    widget.refresh()
    qtbot.waitUntil(lambda: "cannot be used" in widget.message.text(), timeout=TIMEOUT_MS)
    assert "Show and repair" in widget.message.text()
    assert shown_errors == []  # the health banner names it; no dialog at every start
