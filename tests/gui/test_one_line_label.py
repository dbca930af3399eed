"""The one-line status label: QLabel paints what fits, `text()` keeps the whole text, and a
text with a tag stays plain text (it never turns bold or hides its tag)."""

from PySide6.QtCore import Qt

from gui.pages.monitor_status import OneLineLabel


def test_a_long_text_is_elided_to_the_width_and_kept_whole(qtbot):
    label = OneLineLabel()
    qtbot.addWidget(label)
    label.show()  # as in the status bar: a resize reaches it at once
    label.resize(200, 30)
    whole = "watching /data/incoming: " + "x" * 300 + " failed\n(see the log)"
    label.setText(whole)
    assert label.text() == " ".join(whole.split())  # one line
    assert label.toolTip() == whole
    shown = label.shown_text()
    assert shown.endswith("…") and len(shown) < len(label.text())
    assert QLabelText(label) == shown  # what QLabel paints
    label.resize(4000, 30)
    assert QLabelText(label) == label.text()  # room again: the whole text


def test_a_text_with_a_tag_stays_plain(qtbot):
    label = OneLineLabel()
    qtbot.addWidget(label)
    label.resize(600, 30)
    label.setText("<b>flights.csv</b> failed")
    assert label.textFormat() == Qt.TextFormat.PlainText
    assert QLabelText(label) == "<b>flights.csv</b> failed"


def QLabelText(label: OneLineLabel) -> str:
    from PySide6.QtWidgets import QLabel

    return QLabel.text(label)
