"""The publisher and workstation commands as scripts use them: keys generate, bundle build |
verify, trust list | add | revoke, models list | show | import | activate | rollback."""

from __future__ import annotations

import json

import pytest

from engine.cli import main
from tests.engine.bundle_kit import payload_for


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """A publisher with keys and payload files, and a workstation with an empty trust store."""
    monkeypatch.setenv("RATCHET_TRUST_STORE", str(tmp_path / "ws" / "trust.json"))
    ws = ["--workspace", str(tmp_path / "ws")]
    pub = tmp_path / "pub"
    pub.mkdir()
    assert main(["keys", "generate", "--out", str(pub)]) == 0
    for version, seed in ((1, 0), (2, 1)):
        folder = pub / f"v{version}"
        folder.mkdir()
        for name, data in payload_for("fraud-model", seed).items():
            (folder / name).write_bytes(data)
    return tmp_path, ws, pub


def run(capsys, *argv) -> tuple[int, dict]:
    code = main(["--json", *argv])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def build(capsys, pub, version: int) -> str:
    out = pub / f"fraud-model-{version}.ratchet"
    folder = pub / f"v{version}"
    code, result = run(capsys, "bundle", "build", "--coefficients",
                       str(folder / "coefficients.json"), "--requirements",
                       str(folder / "requirements.json"), "--cases",
                       str(folder / "regression_cases.csv"), "--version", str(version),
                       "--key", str(pub / "publisher.key"), "-o", str(out))
    assert code == 0 and result["version"] == version
    return str(out)


def test_publish_trust_import_activate_rollback(setup, capsys):
    _tmp_path, ws, pub = setup
    v1, v2 = build(capsys, pub, 1), build(capsys, pub, 2)

    code, result = run(capsys, *ws, "models", "import", v1)
    assert code == 2 and result["error"] == "E_KEY_UNTRUSTED"
    assert "not from a trusted publisher" in result["message"]

    code, added = run(capsys, *ws, "trust", "add", str(pub / "publisher.pub"), "--models",
                      "fraud-*", "--name", "Fraud team")
    assert code == 0 and len(added["keyid"]) == 64
    code, listed = run(capsys, *ws, "trust", "list")
    # A new workspace starts with the shipped default store: the demo key, for demo-* only.
    assert [k["models"] for k in listed["keys"]] == ["demo-*", "fraud-*"]

    assert run(capsys, *ws, "bundle", "verify", v1)[1]["status"] == "verified"
    assert run(capsys, *ws, "models", "import", v1)[1] == {
        "model_id": "fraud-model", "version": 1, "status": "installed"}
    assert run(capsys, *ws, "models", "import", v1)[1]["status"] == "already-installed"
    assert run(capsys, *ws, "models", "import", v2)[1]["status"] == "installed"
    code, shown = run(capsys, *ws, "models", "show", "fraud-model")
    assert [v["active"] for v in shown["versions"]] == [False, True]
    assert run(capsys, *ws, "models", "rollback", "fraud-model")[1] == {
        "model_id": "fraud-model", "version": 1, "status": "rolled-back"}
    assert run(capsys, *ws, "models", "activate", "fraud-model", "2")[1]["status"] == "activated"
    code, result = run(capsys, *ws, "models", "activate", "fraud-model", "7")
    assert code == 2 and result["error"] == "E_MODEL_UNKNOWN"
    code, listed = run(capsys, *ws, "models", "list")
    assert [(m["version"], m["active"]) for m in listed["models"]] == [(1, False), (2, True)]

    code, _ = run(capsys, *ws, "trust", "revoke", added["keyid"][:12])
    assert code == 0
    # Revoked: a new bundle from that key is refused (the installed ones stay).
    (pub / "v3").mkdir()
    for name, data in payload_for("fraud-model", 2).items():
        (pub / "v3" / name).write_bytes(data)
    code, result = run(capsys, *ws, "models", "import", build(capsys, pub, 3))
    assert code == 2 and result["error"] == "E_KEY_REVOKED"


def test_plain_text_refusal_is_one_paragraph_without_traceback(setup, capsys):
    tmp_path, ws, _pub = setup
    bad = tmp_path / "junk.ratchet"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    assert main([*ws, "models", "import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "damaged" in err and "[E_ZIP_" in err


def test_keys_are_never_overwritten(setup, capsys):
    _tmp_path, _ws, pub = setup
    assert main(["keys", "generate", "--out", str(pub)]) == 2
    assert "never overwrites" in capsys.readouterr().err


def test_build_refuses_cases_that_fail(setup, capsys):
    _tmp_path, _ws, pub = setup
    cases = pub / "v1" / "regression_cases.csv"
    text = cases.read_text().splitlines()
    cells = text[1].split(",")
    cells[3] = "1" if cells[3] == "0" else "0"  # flip the expected class of the first case
    text[1] = ",".join(cells)
    cases.write_text("\n".join(text) + "\n")
    code = main(["bundle", "build", "--coefficients", str(pub / "v1" / "coefficients.json"),
                 "--requirements", str(pub / "v1" / "requirements.json"), "--cases",
                 str(cases), "--version", "1", "--key", str(pub / "publisher.key"), "-o",
                 str(pub / "out.ratchet")])
    assert code == 2 and "E_REGRESSION_CASES_FAILED" in capsys.readouterr().err
    assert not (pub / "out.ratchet").exists()
