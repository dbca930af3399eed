"""Reports as PDF (issue 18): `--report FILE.pdf` writes the same report as PDF, its charts as
vector paths; any other suffix than .html/.htm/.pdf is refused before any work. The PDFs are
read back with pypdf: title, verdict, the stamp with the bundle's sha256, a metric value, the
page count (every page's "N / PAGES" footer), no raster image, and the charts' paths."""

import re
import sys

import pytest

from engine.formats.report_pdf import PdfUnavailable, pdf_bytes, write_report_file
from engine.ground.shipped import shipped_dir
from engine.registry.registry import Registry
from tests.engine import test_trial_kit as kit
from tests.engine.conftest import json_cli
from tests.engine.pdf_kit import read_pdf
from tests.engine.test_report_stamp import demo_hash
from tests.engine.workspace_kit import DEMO_LABEL, SAMPLE, sha256

bundles, data, flights = kit.bundles, kit.data, kit.flights  # the gate's fixtures
CORPUS = shipped_dir("resources") / "samples" / "demo-flights-2013.csv"


def check_pages(pdf) -> None:
    """Every page says "k / N" at its foot, N the page count pypdf reads."""
    assert pdf.pages >= 2
    for k, text in enumerate(pdf.page_texts, start=1):
        assert re.search(rf"\b{k} / {pdf.pages}\s*$", text), text[-80:]


def check_stamp(pdf, ws) -> None:
    assert re.search(r"Run \d{4}-\d\d-\d\dT\S+ by \S+ on \S+ with Ratchet", pdf.text)
    assert f"{DEMO_LABEL} (bundle sha256 {demo_hash(ws)})" in pdf.text.replace(" ", " ")


def svg_free(page: str) -> str:
    return re.sub(r"<svg\b.*?</svg>", "", page, flags=re.S)


def test_regression_report_as_pdf(ws, tmp_path, capsys):
    cli = json_cli(ws.root, capsys)
    report = tmp_path / "suite.pdf"
    code, doc, err = cli("regress", "--report", str(report))
    assert code == 0, err
    assert doc["report"] == str(report)
    pdf = read_pdf(report)
    assert f"Regression suite of {DEMO_LABEL}: PASSED" in pdf.text
    check_stamp(pdf, ws)
    (requirement,) = doc["requirements"]
    assert f"roc_auc {requirement['value']:.6f} min 0.9 3000 met" in pdf.text
    check_pages(pdf)
    assert pdf.images == 0  # the bars and the charts are paths, never pictures
    assert pdf.path_operators > 0


def test_backtest_report_as_pdf_draws_its_charts_as_paths(ws, tmp_path, capsys):
    cli = json_cli(ws.root, capsys)
    report = tmp_path / "months.pdf"
    code, doc, err = cli("backtest", str(CORPUS), "--time-column", "date", "--report",
                         str(report))
    assert code == 1, err  # the demo model misses its minimum in four months
    pdf = read_pdf(report)
    assert (f"Back-test of {DEMO_LABEL} on demo-flights-2013.csv, by month: FAILED"
            in pdf.text)
    check_stamp(pdf, ws)
    january = next(p for p in doc["partitions"] if p["partition"] == "2013-01")
    assert f"{january['metrics']['roc_auc']:.4f}" in pdf.text
    assert doc["summary"][0].split(" (")[0] in pdf.text
    check_pages(pdf)
    assert pdf.images == 0

    # The charts are vector: the same page without its SVG draws far fewer path segments
    # (each chart's line has one segment per month and its markers are curves).
    html = tmp_path / "months.html"
    code, _doc, err = cli("backtest", str(CORPUS), "--time-column", "date", "--report",
                          str(html))
    assert code == 1, err
    page = html.read_text(encoding="utf-8")
    charts = page.count("<svg")
    assert charts >= 3
    bare = tmp_path / "bare.pdf"
    bare.write_bytes(pdf_bytes(svg_free(page)))
    without = read_pdf(bare)
    assert pdf.operators[b"l"] - without.operators[b"l"] >= 11 * charts
    assert pdf.operators[b"c"] > without.operators[b"c"]


def test_write_report_file_chooses_by_suffix(tmp_path):
    page = ("<html><head><style>p{}</style></head><body><h1>T</h1><p>body</p>"
            "<svg width=50 height=20><line x1=0 y1=0 x2=50 y2=20 stroke=black /></svg>"
            "</body></html>")
    assert write_report_file(page, tmp_path / "a.HTML").read_text(encoding="utf-8") == page
    pdf = read_pdf(write_report_file(page, tmp_path / "a.PDF"))
    assert pdf.pages == 1 and "body" in pdf.text and pdf.operators[b"l"] >= 1


def test_a_report_of_another_kind_is_refused_before_any_work(ws, tmp_path, capsys):
    cli = json_cli(ws.root, capsys)
    out = tmp_path / "out"
    out.mkdir()
    report = out / "suite.docx"
    code, doc, err = cli("regress", "--report", str(report))
    assert code == 2
    assert doc["error"] == "E_REPORT_FORMAT"
    assert (f"the report {report} is neither .html nor .pdf; its suffix chooses its format: "
            "give a name ending in .html (a web page, such as regression.html) or .pdf "
            "(such as regression.pdf)." in err)
    code, doc, err = cli("backtest", str(CORPUS), "--time-column", "date", "--report",
                         str(out / "months"))
    assert code == 2 and doc["error"] == "E_REPORT_FORMAT" and "backtest.pdf" in err
    assert list(out.iterdir()) == []
    with Registry.open(ws.root) as registry:  # refused before the suite ran: nothing recorded
        for table in ("regression_runs", "backtests"):
            count = registry.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            assert count == 0, table


def test_nowtest_report_as_pdf(ws, tmp_path, capsys):
    cli = json_cli(ws.root, capsys)
    report = tmp_path / "now.pdf"
    code, _doc, err = cli("nowtest", str(SAMPLE), "--report", str(report))
    assert code in (0, 1), err
    pdf = read_pdf(report)
    assert f"Now-test of {DEMO_LABEL} on {SAMPLE.name}" in pdf.text
    check_stamp(pdf, ws)
    assert pdf.images == 0 and pdf.pages == len(pdf.page_texts)


def test_gate_report_as_pdf(ws, bundles, data, tmp_path, capsys):
    cli = json_cli(ws.root, capsys)
    report = tmp_path / "gate.pdf"
    code, doc, err = cli("gate", str(bundles["worse"]), "--corpus", str(data["corpus"]),
                         "--time-column", "time_hour", "--report", str(report))
    assert code == 1, err
    assert doc["report"] == str(report)
    pdf = read_pdf(report)
    assert "REJECT" in pdf.text and "Why it is rejected" in pdf.text
    assert f"{kit.WORSE} (bundle sha256 {sha256(bundles['worse'])})" in pdf.text
    check_pages(pdf)
    assert pdf.images == 0


def test_without_weasyprint_a_pdf_is_refused_in_plain_words_and_nothing_written(
        tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as in the installed app
    with pytest.raises(PdfUnavailable, match=r"Save the report as \.html instead") as refused:
        write_report_file("<html><body><h1>T</h1></body></html>", tmp_path / "r.pdf")
    assert refused.value.code == "E_PDF_UNAVAILABLE"
    assert list(tmp_path.iterdir()) == []
    assert write_report_file("<p>x</p>", tmp_path / "r.html").read_text() == "<p>x</p>"
