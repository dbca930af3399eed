"""A watch-folder file that cannot be now-tested raises an alarm of its own (kind "watch"),
de-duplicated per folder and reason while open, e-mailed like the others (a real SMTP server
on 127.0.0.1), listed by `ratchet alarms list`; the watcher goes on."""

from __future__ import annotations

import json

from engine.alarms.store import acknowledge, list_alarms
from engine.cli import main
from engine.ground.database import connect
from engine.ground.settings import set_setting
from tests.engine import models_kit as kit
from tests.engine.test_alarms_email import SmtpServer


def watch_once(root, folder, capsys) -> tuple[int, list[dict]]:
    code = main(["--workspace", str(root), "--json", "watch", str(folder), "--once"])
    return code, [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]


def test_failed_files_raise_one_watch_alarm_per_reason_emailed_once(ws, tmp_path, capsys):
    kit.add_sensors(ws.root)
    inbox = tmp_path / "inbox"
    for name in ("a", "b"):  # neither model fits: one reason, two files
        kit.write(inbox / f"{name}.csv", kit.SMALL)
    (inbox / "empty.csv").write_bytes(b"")
    kit.flights(inbox / "flights.csv")
    set_setting(ws.root, "watch.settle_seconds", "0.05")
    with SmtpServer() as server:
        for key, value in {"smtp.host": "127.0.0.1", "smtp.port": str(server.port),
                           "smtp.starttls": "false", "alarms.email_to": "ops@example.com"
                           }.items():
            set_setting(ws.root, key, value)
        code, (*events, summary) = watch_once(ws.root, inbox, capsys)
        assert code == 1 and summary["failed"] == 3 and summary["processed"] == 1
        failed = {e["path"].rsplit("/", 1)[1]: e for e in events if e["state"] == "failed"}
        assert failed["a.csv"]["code"] == failed["b.csv"]["code"] == "E_NO_MODEL_FITS"
        assert failed["empty.csv"]["code"] == "E_EMPTY_FILE"
        # one new alarm per reason; the second file of a reason is a repeat
        assert sum(len(e["new_alarms"]) for e in failed.values()) == 2

        conn = connect(ws.database)
        try:
            watch = [a for a in list_alarms(conn) if a.kind == "watch"]
            assert sorted((a.subject.rsplit(" ", 1)[1], a.occurrences) for a in watch) == [
                ("(E_EMPTY_FILE)", 1), ("(E_NO_MODEL_FITS)", 2)]
            assert all(a.model == "watch folder" and a.emailed_at for a in watch)
            assert all(str(inbox.resolve()) in a.subject for a in watch)
            fits = next(a for a in watch if "E_NO_MODEL_FITS" in a.subject)
            assert "b.csv" in fits.message or "a.csv" in fits.message
            assert "lacks" in fits.message
            mails = [m for m in server.mailbox.messages if "a file failed in" in m["Subject"]]
            assert len(mails) == 2 and len(server.mailbox.messages) == 3  # + the flights' drift

            # acknowledged, the same reason again is a new alarm (and a new e-mail)
            acknowledge(conn, fits.id)
            kit.write(inbox / "c.csv", kit.SMALL)
            code, (*events, summary) = watch_once(ws.root, inbox, capsys)
            assert summary["failed"] == 1 and len(events[0]["new_alarms"]) == 1
            assert len(server.mailbox.messages) == 4
        finally:
            conn.close()
