"""A self-contained HTML report of a back-test: the verdicts in words, champion against each
challenger (difference and 95% interval per partition and overall), a chart per metric with
the requirement lines, and every partition's numbers. Inline SVG and CSS only: nothing to fetch,
works offline, prints."""

from __future__ import annotations

import html
import math

from engine.backtest.charts import line_chart
from engine.backtest.multivariate_report import multivariate_section
from engine.backtest.result import BacktestResult, Comparison
from engine.formats.segment_report import render_segments
from engine.regression.report import STYLE as REGRESSION_STYLE

STYLE = REGRESSION_STYLE + (
    "td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.charts{display:flex;"
    "flex-wrap:wrap;gap:1em}.chart{border:1px solid #e4e4e4;padding:.4em}.chart h3{margin:.2em 0;"
    "font-size:1em}.note{color:#555}tr.overall td{font-weight:bold;background:#f7f7f7}"
    "ul.summary li{margin:.3em 0}.wide{overflow-x:auto}.wide table{font-size:.9em}"
    ".wide td,.wide th{white-space:nowrap}.wide td.why{white-space:normal;min-width:12em}")


def _n(x: float | None, signed: bool = False) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:+.4f}" if signed else f"{x:.4f}"


def _e(text) -> str:
    return html.escape(str(text))


def _comparison_table(result: BacktestResult, label: str) -> str:
    mine = [c for c in result.comparisons if c.challenger == label]
    if not mine:
        return "<p class=note>No partition had rows both models scored.</p>"
    out = []
    for metric in dict.fromkeys(c.metric for c in mine):
        rows = [c for c in mine if c.metric == metric]
        rows.sort(key=lambda c: c.partition == "overall")

        def row(c: Comparison) -> str:
            cls = "pass" if c.outcome == "better" else "fail" if c.outcome == "worse" else ""
            name = ("mean over partitions, weighted by rows" if c.partition == "overall"
                    else c.partition)
            return (f"<tr{' class=overall' if c.partition == 'overall' else ''}>"
                    f"<td>{_e(name)}</td><td class=num>{c.rows}</td>"
                    f"<td class=num>{_n(c.champion_value)}</td>"
                    f"<td class=num>{_n(c.challenger_value)}</td>"
                    f"<td class=num>{_n(c.difference, True)}</td>"
                    f"<td class=num>{_n(c.ci_low, True)} to {_n(c.ci_high, True)}</td>"
                    f"<td class={cls or 'note'}>{_e(c.outcome)}</td></tr>")
        out.append(
            f"<h3>{_e(metric)}: {_e(label)} against {_e(result.champion)}</h3><table><tr>"
            f"<th>Partition</th><th>Rows</th><th>{_e(result.champion)}</th><th>{_e(label)}</th>"
            "<th>Difference</th><th>95% interval</th><th>Challenger is</th></tr>"
            + "".join(row(c) for c in rows) + "</table>")
    return "".join(out)


def _charts(result: BacktestResult) -> str:
    keys = result.partition_keys
    models = [result.champion, *result.challengers]
    by_key = {(p.partition, p.model): p for p in result.partitions}
    metrics = list(dict.fromkeys(p_metric for p in result.partitions for p_metric in p.metrics))
    required = list(dict.fromkeys(r.metric for r in result.requirements))
    charts = []
    for metric in sorted(metrics, key=lambda m: (m not in required, metrics.index(m))):
        series, missed = {}, {}
        for m in models:
            points = [by_key.get((k, m)) for k in keys]
            series[m] = [None if p is None else p.metrics.get(metric) for p in points]
            missed[m] = [p is not None and any(f.startswith(f"{metric} ") for f in p.failures)
                         for p in points]
        bounds = list(dict.fromkeys((r.model, r.bound_name, r.bound) for r in result.requirements
                                    if r.metric == metric))
        if len({(b[1], b[2]) for b in bounds}) == 1 and bounds:
            bounds = [(result.champion, bounds[0][1], bounds[0][2])]  # one shared line
        charts.append(f"<div class=chart><h3>{_e(metric)}</h3>"
                      f"{line_chart(metric, keys, series, bounds, missed)}</div>")
    return "<div class=charts>" + "".join(charts) + "</div>"


def _partition_table(result: BacktestResult) -> str:
    metrics = list(dict.fromkeys(m for p in result.partitions for m in p.metrics))
    head = "".join(f"<th>{_e(m)}</th>" for m in metrics)

    def row(p, overall: bool = False) -> str:
        verdict = ("<td class='note why'>all partitions pooled, for reference</td>" if overall
                   else f"<td class='{'pass' if p.passed else 'fail'} why'>"
                   f"{'met' if p.passed else 'missed: ' + _e('; '.join(p.failures))}</td>")
        return (f"<tr{' class=overall' if overall else ''}><td>{_e(p.partition)}</td>"
                f"<td>{_e(p.model)}</td><td class=num>{p.rows}</td>"
                f"<td class=num>{p.rejected}</td>{verdict}"
                + "".join(f"<td class=num>{_n(p.metrics.get(m))}</td>" for m in metrics)
                + "</tr>")
    body = "".join(row(p) for p in result.partitions)
    body += "".join(row(p, True) for p in result.overall)
    return (f"<div class=wide><table><tr><th>Partition</th><th>Model</th><th>Rows</th>"
            f"<th>Rejected</th><th>Requirements</th>{head}</tr>{body}</table></div>")


def render(result: BacktestResult, title: str = "Back-test") -> str:
    verdict = ("<span class=pass>PASSED</span>" if result.passed
               else "<span class=fail>FAILED</span>")
    reqs = "; ".join(f"{r.model}: {r.metric} {r.bound_name} {r.bound:g} ({r.applies})"
                     for r in result.requirements) or "none"
    facts = [("Corpus", result.corpus), ("Time column", result.time_column),
             ("Partitioned by", result.by if not result.timezone else
              f"{result.by}, in {result.timezone} (times with an offset or Z converted to it; "
              "times without one taken as local)"), ("Champion", result.champion),
             ("Challengers", ", ".join(result.challengers) or "none"),
             ("Rows read", result.rows),
             ("Left out: no outcome (unlabelled)", result.unlabelled),
             ("Left out: an outcome but no readable time (untimed)", result.untimed),
             ("Requirements", reqs),
             ("Compared on", f"{result.metric}, {result.draws} paired bootstrap resamples per "
                             "partition; overall = mean of the per-partition differences "
                             "weighted by their rows")]
    fact_rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts)
    summary = "".join(f"<li>{_e(line)}</li>" for line in result.summary)
    compare = "".join(_comparison_table(result, label) for label in result.challengers)
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{_e(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{_e(title)}: {verdict}</h1>"
        f"<ul class=summary>{summary}</ul><table>{fact_rows}</table>"
        + (f"<h2>Champion against challengers</h2>{compare}" if result.challengers else "")
        + "<h2>Metrics by partition</h2><p class=note>Dashed: the requirement; ringed red: a "
        "partition where the model misses a requirement.</p>" + _charts(result)
        + f"<h2>Every partition</h2>{_partition_table(result)}"
        + multivariate_section(result.multivariate)
        + render_segments(result.segments) + "</body></html>\n")
