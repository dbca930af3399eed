"""The QPainter line chart: series drawn where their values are, gaps for missing values,
dashed reference lines inside the y range, round ticks, legends that wrap, category labels
that never overlap, and hover tooltips that name the point."""

import itertools
import math

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor

from gui.charts import LINE_COLOR, LineChart, nice_ticks

MONTHS = [f"2013-{m:02d}" for m in range(7, 13)]


@pytest.fixture
def chart(qtbot):
    widget = LineChart()
    qtbot.addWidget(widget)
    widget.resize(700, 300)
    return widget


def colour_pixels(image, colour: QColor, tolerance: int = 40) -> int:
    """How many pixels of the image are close to ``colour``."""
    count = 0
    for y in range(0, image.height(), 1):
        for x in range(0, image.width(), 2):
            c = image.pixelColor(x, y)
            if (abs(c.red() - colour.red()) + abs(c.green() - colour.green())
                    + abs(c.blue() - colour.blue())) <= tolerance:
                count += 1
    return count


def test_nice_ticks_are_round_and_cover_the_range():
    ticks, decimals = nice_ticks(0.8612, 0.9377)
    assert ticks[0] <= 0.8612 and ticks[-1] >= 0.9377
    steps = {round(b - a, 10) for a, b in itertools.pairwise(ticks)}
    assert steps == {0.02} and decimals == 2
    assert nice_ticks(5.0, 5.0)[0][0] < 5.0 < nice_ticks(5.0, 5.0)[0][-1]  # a flat series
    ticks, decimals = nice_ticks(0, 36)
    assert ticks == [0, 10, 20, 30, 40] and decimals == 0


def test_series_lines_and_legend_are_drawn(chart, qtbot):
    series = {"champion@1": [0.905, 0.874, 0.89, 0.91, 0.93, None],
              "challenger@2": [0.88, 0.86, 0.87, 0.9, 0.905, 0.89]}
    chart.set_data(MONTHS, series, [("roc_auc min 0.92", 0.92)], "roc_auc")
    image = chart.grab().toImage()  # paints: the points are laid out now
    for name in series:
        assert colour_pixels(image, chart.color_of(name)) > 150, name
    assert colour_pixels(image, LINE_COLOR, 60) > 100  # the dashed line and its label
    assert chart.color_of("champion@1") != chart.color_of("challenger@2")

    points = chart.points()
    assert len(points) == 11  # one value of the champion is missing: a gap, not a zero
    assert {(p.series, p.index) for p in points if p.series == "champion@1"} == \
        {("champion@1", i) for i in range(5)}
    g = chart.geometry_for(700, 300)
    assert g.y_min <= 0.86 and g.y_max >= 0.93 and g.y_min <= 0.92 <= g.y_max
    assert [name for row in g.legend_rows for name, _ in row] == list(series)
    assert g.shown_labels == list(range(6))  # six months fit at 700 px
    # higher values sit higher on screen
    by_key = {(p.series, p.index): p.at for p in points}
    assert by_key["champion@1", 4].y() < by_key["champion@1", 1].y()
    assert all(g.plot.contains(p.at) for p in points)


def test_hovering_a_point_names_series_category_and_value(chart):
    chart.set_data(MONTHS[:2], {"m@1": [0.9, 0.8]}, y_label="accuracy")
    chart.grab()
    first = chart.points()[0]
    assert chart.tooltip_at(first.at + QPointF(3, -2)) == "m@1\n2013-07: 0.9000"
    assert chart.tooltip_at(QPointF(2, 2)) is None


def test_the_lines_stretch_the_range_even_far_from_the_values(chart):
    chart.set_data(MONTHS[:3], {"m@1": [0.5, 0.52, 0.51]}, [("min 0.92", 0.92)])
    g = chart.geometry_for(700, 300)
    assert g.y_min <= 0.5 and g.y_max >= 0.92


def test_crowded_categories_show_every_kth_label_and_legends_wrap(chart):
    categories = [f"{y}-{m:02d}" for y in range(2010, 2014) for m in range(1, 13)]
    names = [f"a-rather-long-model-name@{v}" for v in range(1, 6)]
    chart.set_data(categories, {n: [float(i) for i in range(48)] for n in names})
    g = chart.geometry_for(700, 300)
    every = g.shown_labels[1] - g.shown_labels[0]
    assert every > 1 and g.shown_labels == list(range(0, 48, every))
    assert len(g.legend_rows) > 1
    assert sorted(n for row in g.legend_rows for n, _ in row) == sorted(names)
    chart.grab()
    assert len(chart.points()) == 5 * 48


def test_empty_and_nan_data_and_mismatched_lengths(chart):
    chart.clear("Run a back-test first.")
    image = chart.grab().toImage()
    assert chart.points() == [] and colour_pixels(image, QColor("#8A8A8A"), 60) > 0
    chart.set_data(["a", "b"], {"m": [math.nan, None]})
    chart.grab()
    assert chart.points() == []
    with pytest.raises(ValueError, match="2 values for 3 categories"):
        chart.set_data(["a", "b", "c"], {"m": [1.0, 2.0]})


@pytest.mark.parametrize("values", [[0.97, 1.0, 0.995], [1.0, 1.0], [0.0, 0.02], [0.93, 0.95]])
def test_a_unit_metric_axis_stays_within_0_and_1(chart, values):
    chart.set_data([str(i) for i in range(len(values))], {"champion": values},
                   [("min", 0.92)] if values[0] > 0.5 else [], "roc_auc")
    g = chart.geometry_for(700, 300)
    assert g.y_min >= 0.0 and g.y_max <= 1.0
    assert g.y_min <= min(values) and max(values) <= g.y_max


def test_an_unbounded_metric_axis_is_not_clamped(chart):
    chart.set_data(["a", "b"], {"champion": [0.97, 1.0]}, [], "log_loss")
    assert chart.geometry_for(700, 300).y_max > 1.0
