"""Every report says when it was run, by whom, with which Ratchet and from which bundle
(issue 14): regression, now-test and back-test reports written by the command line, and the
gate's, carry the date, the app's version and each model's bundle sha256 from the workspace."""

import re

import engine
from engine.formats.report_stamp import stamp_html, stamped
from engine.registry.registry import Registry
from tests.engine.conftest import json_cli
from tests.engine.workspace_kit import DEMO_ID, DEMO_LABEL, DEMO_VERSION, SAMPLE

STAMP = re.compile(r"<p class=stamp>Run (\d{4}-\d\d-\d\dT\S+) by [^<]+ with Ratchet "
                   r"([^.<]+(?:\.\d+)*)\. Models: ([^<]+)\.</p>")


def demo_hash(ws) -> str:
    with Registry.open(ws.root) as registry:
        row = registry.db.execute("SELECT bundle_sha256 FROM installed WHERE model_id=? AND "
                                  "version=?", (DEMO_ID, DEMO_VERSION)).fetchone()
    return row["bundle_sha256"]


def check(page: str, ws, labels=(DEMO_LABEL,)) -> None:
    found = STAMP.search(page)
    assert found, page[:400]
    assert found.group(2) == engine.__version__
    for label in labels:
        assert f"{label} (bundle sha256 {demo_hash(ws)})" in found.group(3)
    assert page.index("</h1>") < found.start()  # under the title


def test_regression_and_nowtest_reports_are_stamped(ws, tmp_path, capsys):
    cli = json_cli(ws.root, capsys)
    code, _doc, err = cli("regress", "--report", str(tmp_path / "suite.html"))
    assert code in (0, 1), err
    check((tmp_path / "suite.html").read_text(), ws)
    code, _doc, err = cli("nowtest", str(SAMPLE), "--report", str(tmp_path / "now.html"))
    assert code in (0, 1), err
    check((tmp_path / "now.html").read_text(), ws)


def test_a_label_not_installed_is_named_without_a_hash_and_known_hashes_are_used(ws):
    text = stamp_html([DEMO_LABEL, "other@3", "cand@2"], ws.root, {"cand@2": "ab" * 32})
    assert f"{DEMO_LABEL} (bundle sha256 {demo_hash(ws)})" in text
    assert "other@3;" in text and "other@3 (" not in text
    assert f"cand@2 (bundle sha256 {'ab' * 32})" in text
    page = stamped("<html><head><style>x{}</style></head><body><h1>T</h1><p>b</p>", ["a@1"])
    assert page.index("<h1>T</h1><p class=stamp>") > 0 and ".stamp{" in page
