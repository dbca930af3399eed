"""Export PDF… (issue 18): every page with a report offers it through the run panel; the save
dialog offers PDF first with a .pdf name, and the name's suffix (or, without one, the filter
chosen) decides the format. Driven on the Regression page with its real workers."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from gui import dialogs
from gui.pages.regression import RegressionPage
from tests.engine.pdf_kit import read_pdf
from tests.engine.workspace_kit import DEMO_LABEL
from tests.gui.kit import TIMEOUT_MS

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def page(ctx, qtbot):
    widget = RegressionPage(ctx)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def save_dialog(monkeypatch, answer: str, chosen_filter: str) -> list[tuple]:
    asked = []

    def get_save_file_name(parent, title, start, filters, selected):
        asked.append((title, start, filters, selected))
        return answer, chosen_filter
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(get_save_file_name))
    return asked


def test_export_pdf_writes_the_report_as_pdf(page, ctx, qtbot, tmp_path, monkeypatch):
    assert not page.panel.export_pdf_button.isEnabled()
    with qtbot.waitSignal(page.run_finished, timeout=TIMEOUT_MS):
        qtbot.mouseClick(page.run_button, LEFT)
    assert page.panel.export_pdf_button.isEnabled()

    asked = save_dialog(monkeypatch, str(tmp_path / "suite"), dialogs.PDF_FILTER)
    with qtbot.waitSignal(page.panel.report_written, timeout=TIMEOUT_MS) as written:
        qtbot.mouseClick(page.panel.export_pdf_button, LEFT)
    report = tmp_path / "suite.pdf"
    assert written.args == [report]
    (title, start, filters, selected), = asked
    assert title == "Export the regression report"
    assert start.endswith("-regression.pdf") and selected == dialogs.PDF_FILTER
    assert filters == f"{dialogs.PDF_FILTER};;{dialogs.HTML_FILTER}"
    pdf = read_pdf(report)
    assert f"Regression suite of {DEMO_LABEL}: PASSED" in pdf.text
    assert "bundle sha256" in pdf.text and pdf.pages >= 2 and pdf.images == 0
    assert page.panel.message.text() == f"Report saved to {report}."
    assert page.panel.export_pdf_button.isEnabled()

    # Export report… offers HTML first; a name ending in .pdf is a PDF there too.
    asked = save_dialog(monkeypatch, str(tmp_path / "again.pdf"), dialogs.HTML_FILTER)
    with qtbot.waitSignal(page.panel.report_written, timeout=TIMEOUT_MS) as written:
        qtbot.mouseClick(page.panel.export_button, LEFT)
    assert asked[0][1].endswith("-regression.html") and asked[0][3] == dialogs.HTML_FILTER
    assert written.args == [tmp_path / "again.pdf"]
    assert read_pdf(tmp_path / "again.pdf").pages == pdf.pages


@pytest.mark.parametrize(("answer", "chosen", "start", "expected"), [
    ("r", dialogs.PDF_FILTER, "x.html", "r.pdf"),
    ("r", dialogs.HTML_FILTER, "x.pdf", "r.html"),
    ("r", "", "x.pdf", "r.pdf"),
    ("r", "", "x.html", "r.html"),
    ("r.HTM", dialogs.PDF_FILTER, "x.pdf", "r.HTM"),
    ("r.v2", dialogs.PDF_FILTER, "x.pdf", "r.v2.pdf"),
])
def test_the_suffix_or_the_filter_decides(monkeypatch, tmp_path, answer, chosen, start,
                                          expected):
    save_dialog(monkeypatch, str(tmp_path / answer), chosen)
    assert dialogs.choose_report_path(None, "t", tmp_path / start) == tmp_path / expected


def test_cancelling_the_dialog_writes_nothing(monkeypatch, tmp_path):
    save_dialog(monkeypatch, "", "")
    assert dialogs.choose_report_path(None, "t", tmp_path / "x.pdf") is None
