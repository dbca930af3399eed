"""The back-test report's multivariate drift section: the mean PCA reconstruction error per
partition against its threshold, as a line chart (drifted partitions ringed) and a table."""

from __future__ import annotations

import html

from engine.backtest.charts import line_chart

ERROR, THRESHOLD = "mean reconstruction error", "threshold"


def multivariate_section(rows: list[dict]) -> str:
    if not rows:
        return ""
    keys = [r["partition"] for r in rows]
    chart = line_chart("multivariate drift", keys,
                       {ERROR: [r["error"] for r in rows],
                        THRESHOLD: [r["threshold"] for r in rows]},
                       [], {ERROR: [bool(r["drifted"]) for r in rows]})
    first = rows[0]
    body = "".join(
        f"<tr><td>{html.escape(r['partition'])}</td><td class=num>{r['current_rows']:,}</td>"
        f"<td class=num>{_n(r['error'])}</td><td class=num>{_n(r['threshold'])}</td>"
        f"<td class={'fail' if r['drifted'] else 'pass'}>"
        f"{'drifted' if r['drifted'] else 'no'}</td></tr>" for r in rows)
    return ("<h2>Multivariate drift by partition</h2><p class=note>The inputs taken together "
            "against the champion's reference rows: the mean PCA reconstruction error "
            f"({first['components']} of {first['columns']} standardized columns, "
            f"{first['variance']:.0%} of the variance; {_n(first['reference_error'])} on "
            f"{first['reference_rows']:,} held-out reference rows), above its threshold when "
            "the columns no longer vary together as they did. Ringed red: drifted.</p>"
            f"<div class=charts><div class=chart>{chart}</div></div>"
            "<table><tr><th>Partition</th><th>Rows</th><th>Error</th><th>Threshold</th>"
            f"<th>Drifted</th></tr>{body}</table>")


def _n(x) -> str:
    return "" if x is None else f"{x:.4g}"
