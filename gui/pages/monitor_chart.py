"""What the Monitor page plots: one model's now-tests over time (oldest on the left), its
primary metric where the file had labels, the label-free estimate of the same metric, and the
requirement's minimum as a line."""

from __future__ import annotations

from dataclasses import dataclass, field

from gui.pages.monitor_tables import primary
from gui.tables import parse_time

MAX_POINTS = 60  # the most recent now-tests; older ones stay in the table


@dataclass(frozen=True, slots=True)
class ChartData:
    categories: list[str] = field(default_factory=list)
    series: dict[str, list[float | None]] = field(default_factory=dict)
    lines: list[tuple[str, float]] = field(default_factory=list)
    y_label: str = ""
    ids: list[int] = field(default_factory=list)  # the now-test of each category


def category(nowtest: dict) -> str:
    moment = parse_time(nowtest.get("at", ""))
    return f"#{nowtest.get('id')} {moment:%m-%d %H:%M}" if moment else f"#{nowtest.get('id')}"


def chart_data(nowtests: list[dict], model: str | None,
               requirements: dict[str, dict] | None = None) -> ChartData:
    """``nowtests`` newest first (as stored); ``model`` "ID@V" or None for the newest one's;
    ``requirements`` the model versions' requirements (see tasks.monitor.MonitorData)."""
    if model is None and nowtests:
        model = nowtests[0].get("model")
    chosen = [t for t in nowtests if t.get("model") == model][:MAX_POINTS][::-1]
    if not chosen:
        return ChartData()
    fallback = (requirements or {}).get(model)
    metric, bound, bound_name = None, None, "min"
    for t in reversed(chosen):  # the newest now-test's requirement
        metric, bound, bound_name = primary(t.get("result") or {}, fallback)
        if metric:
            break
    if metric is None:
        return ChartData([category(t) for t in chosen], {}, [], "", [t["id"] for t in chosen])
    measured = [(t.get("result", {}).get("metrics") or {}).get(metric) for t in chosen]
    estimated = [(t.get("result", {}).get("estimate") or {}).get(metric) for t in chosen]
    series: dict[str, list[float | None]] = {}
    if any(v is not None for v in measured):
        series[f"{metric} measured (labelled files)"] = measured
    if any(v is not None for v in estimated):
        series[f"{metric} estimated without labels"] = estimated
    word = "minimum" if bound_name == "min" else "maximum"
    lines = [(f"{word} {bound:g}", float(bound))] if bound is not None else []
    return ChartData([category(t) for t in chosen], series, lines, f"{metric} ({model})",
                     [t["id"] for t in chosen])


def multivariate_data(nowtests: list[dict], model: str | None) -> ChartData:
    """The chosen model's now-tests over time (as chart_data), their inputs taken together:
    the multivariate drift's mean reconstruction error and its threshold (which depends on
    each file's rows). Empty when none of them measured it."""
    if model is None and nowtests:
        model = nowtests[0].get("model")
    chosen = [t for t in nowtests if t.get("model") == model][:MAX_POINTS][::-1]
    found = [(t.get("result") or {}).get("multivariate") or {} for t in chosen]
    if not any(found):
        return ChartData()
    return ChartData([category(t) for t in chosen],
                     {"inputs together: reconstruction error": [m.get("error") for m in found],
                      "alarm above": [m.get("threshold") for m in found]},
                     [], "multivariate drift", [t["id"] for t in chosen])


def draw_multivariate(chart, nowtests: list[dict], model: str | None) -> None:
    """Fill the Monitor page's small multivariate chart (a gui.charts.LineChart)."""
    data = multivariate_data(nowtests, model)
    if not data.series:
        chart.clear("No multivariate drift measured yet (it needs the bundle's reference "
                    "rows).")
        return
    chart.set_data(data.categories, data.series, data.lines, data.y_label)
