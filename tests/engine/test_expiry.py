"""A model's expiry (issue 12, item 11): scoring from 31 days before it is silent, from 30 days
before it warns (and still scores), after it is refused with E_MODEL_EXPIRED unless the
workstation allows expired models (then it scores, and each use is logged); an import of an
expired bundle says so in its headline; `trust add --not-after` refuses a day already past.

The clock is injected: imports take `now`, and every use of a model reads
engine.registry.expiry.now, which these tests replace."""

from __future__ import annotations

import datetime as dt
import logging
from functools import cache

import pytest

from engine.bundle.trust import parse_not_after
from engine.errors import BundleRejected, InputError
from engine.ground.paths import Workspace
from engine.registry import expiry
from engine.registry.expiry import ExpiryState, ModelExpired, expiry_status
from engine.registry.registry import Registry
from tests.engine.bundle_kit import ALICE, NOW, assemble, make_store, payload_for
from tests.engine.conftest import json_cli

EXPIRES = NOW + dt.timedelta(days=90)
DAY = dt.timedelta(days=1)


@cache
def bundle(expires: dt.datetime = EXPIRES) -> bytes:
    return assemble(payload_for("test-model"), signers=[ALICE], created=NOW - DAY,
                    expires=expires)


@pytest.fixture
def expiring_ws(alice_ws, tmp_path):
    """A workspace trusting Alice, with her test-model@1 (expiring at EXPIRES) installed, and a
    CSV to score with it."""
    with Registry(alice_ws) as reg:
        assert reg.import_bundle(bundle(), now=NOW)[2] == "installed"
    (tmp_path / "in.csv").write_text("x0,x1,x2\n0.5,-0.25,1\n-1,2,0\n", encoding="utf-8")
    return alice_ws


def at(monkeypatch, moment: dt.datetime) -> None:
    monkeypatch.setattr(expiry, "now", lambda: moment)


def predict(expiring_ws, capsys):
    run = json_cli(expiring_ws.root, capsys)
    out = expiring_ws.root.parent / "out.csv"
    return run("predict", str(expiring_ws.root.parent / "in.csv"), "-o", str(out)), out


def expiry_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == expiry.__name__ and r.levelno == logging.WARNING]


def test_policy_ok_warning_and_expired():
    text = f"{EXPIRES:%Y-%m-%dT%H:%M:%SZ}"
    assert expiry_status("m@1", text, EXPIRES - 31 * DAY).state is ExpiryState.OK
    soon = expiry_status("m@1", text, EXPIRES - 29 * DAY)
    assert (soon.state, soon.days_left) == (ExpiryState.WARNING, 29)
    assert "expires on 2027-02-24 12:00 UTC (in 29 days)" in soon.warning()
    assert expiry_status("m@1", text, EXPIRES - dt.timedelta(seconds=1)).state \
        is ExpiryState.WARNING
    assert expiry_status("m@1", text, EXPIRES).state is ExpiryState.EXPIRED
    assert expiry_status("m@1", text, EXPIRES + DAY).state is ExpiryState.EXPIRED


def test_31_days_before_the_expiry_scores_without_a_word(expiring_ws, capsys, caplog, monkeypatch):
    at(monkeypatch, EXPIRES - 31 * DAY)
    (code, result, err), out = predict(expiring_ws, capsys)
    assert code == 0 and result["ok"] == 2 and out.is_file()
    assert expiry_warnings(caplog) == [] and "expire" not in err
    with Registry(expiring_ws) as reg:
        assert reg.load_model().expiry.state is ExpiryState.OK


def test_29_days_before_the_expiry_warns_and_still_scores(expiring_ws, capsys, caplog, monkeypatch):
    at(monkeypatch, EXPIRES - 29 * DAY)
    (code, result, _err), out = predict(expiring_ws, capsys)
    assert code == 0 and result["ok"] == 2 and out.is_file()
    [warning] = expiry_warnings(caplog)
    assert "test-model@1 expires on 2027-02-24 12:00 UTC (in 29 days)" in warning
    assert "new bundle" in warning and "\n" not in warning  # one line on stderr
    log_file = (expiring_ws.logs_dir / "ratchet.log").read_text(encoding="utf-8")
    assert "WARNING engine.registry.expiry: test-model@1 expires on" in log_file


def test_after_the_expiry_scoring_is_refused(expiring_ws, capsys, caplog, monkeypatch):
    at(monkeypatch, EXPIRES + DAY)
    (code, result, err), out = predict(expiring_ws, capsys)
    assert code == 2 and result["error"] == "E_MODEL_EXPIRED"
    message = result["message"]
    assert message.startswith("test-model@1 expired on 2027-02-24 12:00 UTC")
    assert "publisher to send a new bundle" in message
    assert "`ratchet settings set models.allow_expired true`" in message
    assert message in err and "[E_MODEL_EXPIRED]" in err
    assert not out.exists() and not out.with_name("out.csv.provenance.json").exists()
    with Registry(expiring_ws) as reg, pytest.raises(ModelExpired):
        reg.load_model("test-model@1")
    # the exact moment of the expiry is already past it, as for an import
    with Registry(expiring_ws) as reg, pytest.raises(ModelExpired):
        reg.load_model(now=EXPIRES)


def test_after_the_expiry_an_allowed_use_scores_and_is_logged(expiring_ws, capsys, caplog,
                                                              monkeypatch):
    run = json_cli(expiring_ws.root, capsys)
    assert run("settings", "set", "models.allow_expired", "true")[0] == 0
    at(monkeypatch, EXPIRES + DAY)
    (code, result, _err), out = predict(expiring_ws, capsys)
    assert code == 0 and result["ok"] == 2 and out.is_file()
    [warning] = expiry_warnings(caplog)
    assert warning.startswith("test-model@1 expired on 2027-02-24 12:00 UTC and was used anyway")
    assert "models.allow_expired" in warning
    log_file = (expiring_ws.logs_dir / "ratchet.log").read_text(encoding="utf-8")
    assert "WARNING engine.registry.expiry: test-model@1 expired on" in log_file
    with Registry(expiring_ws) as reg:
        loaded = reg.load_model()
    model, label = loaded  # still the (model, label) pair every caller unpacks
    assert label == "test-model@1" and model.model_id == "test-model"
    assert loaded.expiry.state is ExpiryState.EXPIRED and loaded.expiry.allowed_expired
    # each allowed use is on the record: the CLI's, then this one
    with Registry(expiring_ws) as reg:
        uses = reg.db.execute("SELECT model, expires FROM expired_uses").fetchall()
    assert [tuple(u) for u in uses] == [("test-model@1", "2027-02-24T12:00:00Z")] * 2


def test_an_expired_bundle_is_refused_as_expired_not_as_untrusted(tmp_path, monkeypatch,
                                                                   capsys):
    monkeypatch.setenv("RATCHET_TRUST_STORE", str(tmp_path / "ws" / "trust.json"))
    workspace = Workspace.open(tmp_path / "ws")
    make_store(workspace.root / "trust.json", [ALICE.trusted()])
    old = bundle(expires=NOW - dt.timedelta(seconds=1))
    with Registry(workspace) as reg, pytest.raises(BundleRejected) as info:
        reg.import_bundle(old, now=NOW)
    assert (info.value.category, info.value.code) == ("expired", "E_BUNDLE_EXPIRED")
    assert info.value.message.startswith("The bundle has expired; nothing was installed. It "
                                         "expired on 2026-11-26 11:59 UTC")
    assert "trusted publisher" not in info.value.message
    path = tmp_path / "old.ratchet"
    path.write_bytes(old)  # the command line judges it at the real time, later than NOW
    code, result, err = json_cli(workspace.root, capsys)("models", "import", str(path))
    assert code == 2 and result["error"] == "E_BUNDLE_EXPIRED"
    assert result["message"].startswith("The bundle has expired")
    assert "[E_BUNDLE_EXPIRED]" in err


def test_trust_add_refuses_a_not_after_day_already_past(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RATCHET_TRUST_STORE", str(tmp_path / "ws" / "trust.json"))
    run = json_cli(tmp_path / "ws", capsys)
    (tmp_path / "pub").mkdir()
    assert run("keys", "generate", "--out", str(tmp_path / "pub"))[0] == 0
    public = str(tmp_path / "pub" / "publisher.pub")
    assert run("trust", "list")[0] == 0
    store = tmp_path / "ws" / "trust.json"
    before = store.read_bytes() if store.exists() else None
    code, result, err = run("trust", "add", public, "--models", "fraud-*", "--not-after",
                            "2001-02-03")
    assert code == 2 and result["error"] == "E_NOT_AFTER_PAST"
    assert "--not-after 2001-02-03 is in the past" in result["message"]
    assert result["message"] in err and "[E_NOT_AFTER_PAST]" in err
    assert (store.read_bytes() if store.exists() else None) == before  # nothing added
    # the day is judged against the clock given: today is still a day the key is trusted
    assert parse_not_after("2026-11-26", NOW) == dt.datetime(2026, 11, 26, 23, 59, 59,
                                                             tzinfo=dt.UTC)
    with pytest.raises(InputError) as info:
        parse_not_after("2026-11-25", NOW)
    assert info.value.code == "E_NOT_AFTER_PAST" and "today is 2026-11-26 UTC" in \
        info.value.message
