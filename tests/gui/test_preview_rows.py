"""The results preview never drops a row: a row with more fields than the header is shown,
rejected, with its surplus fields named in its reason (the engine fits the output row to the
header's width), and a ragged output file written before that is still read row for row."""

from __future__ import annotations

from PySide6.QtCore import Qt

from engine.progress import CancelToken, no_progress
from gui.pages.predict import PredictPage, State
from gui.tasks.preview import read_preview
from tests.gui.kit import TIMEOUT_MS, copy_sample


def test_a_row_with_surplus_fields_is_shown_with_its_reason(ctx, qtbot, tmp_path):
    page = PredictPage(ctx)
    qtbot.addWidget(page)
    page.show()

    def break_some(header, body):
        for i in (4, 9, 1500, 1600):
            body[i][header.index("sched_dep_time")] = "12:30"
        body[12] += ["extra, one", "extra two"]  # more fields than the header

    page.open_csv(copy_sample(tmp_path, "july.csv", break_some))
    qtbot.waitUntil(lambda: page.state is State.READY, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(page.preview_loaded, timeout=TIMEOUT_MS):
        page.run()
    assert page.results.counts.text() == "2,000 rows scored: 1,995 ok, 5 rejected"
    page.results.only_rejected.setChecked(True)
    model = page.results.model
    assert model.rowCount() == 5
    assert [model.headerData(r, Qt.Orientation.Vertical) for r in range(5)] == \
        ["5", "10", "13", "1,501", "1,601"]
    assert "Showing all 5 rejected rows" in page.results.note.text()
    page.results.table.selectRow(2)
    assert "Row 13 was rejected" in page.results.reason.text()
    tip = model.data(model.index(2, 0), Qt.ItemDataRole.ToolTipRole)
    assert "21 fields, the header has 19" in tip and "'extra, one', 'extra two'" in tip
    assert model.data(model.index(2, 0)) == "rejected"  # status, in its own column
    width = len(model.preview.header)
    assert all(len(fields) == width for _, fields in model.preview.rows)


def test_a_ragged_output_file_loses_no_row(tmp_path):
    out = tmp_path / "old.predictions.csv"
    out.write_text("a,b,prediction,proba_0,proba_1,status,error\n"
                   "1,2,0,0.9,0.1,ok,\n"
                   "1,2,x,y,,,,rejected,the row has 4 fields\n"  # surplus fields written
                   "3,,,,rejected,the row has 1 fields\n"  # a short one
                   "4,5,1,0.2,0.8,ok,\n")
    preview = read_preview(out, expected_rejected=2, progress=no_progress,
                           cancel=CancelToken())
    assert [n for n, _ in preview.rejected] == [2, 3]
    assert [n for n, _ in preview.rows] == [1, 2, 3, 4]
    assert all(len(fields) == 7 for _, fields in preview.rows)
    assert preview.rows[1][1] == ["1", "2", "", "", "", "rejected", "the row has 4 fields"]
    assert preview.rows[2][1][:2] == ["3", ""]
