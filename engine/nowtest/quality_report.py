"""The data-quality rules' section of the now-test report: one row per rule (its name,
severity, verdict, what was measured against what it allows) and, for a failed rule, its first
failing rows with their values."""

from __future__ import annotations

import html


def _esc(text) -> str:
    return html.escape(str(text))


def measured_text(q: dict) -> str:
    """"33.4% (1,001 of 3,000)" for a share, "3,000 rows" for min_rows."""
    if q["rule"] == "min_rows":
        return f"{int(q['measured']):,} rows"
    return f"{q['measured']:.1%} ({q['failing']:,} of {q['checked']:,})"


def first_rows_text(q: dict) -> str:
    """"2000, 2001, …" for missing values; "100 ('2000'), …" for values out of bounds."""
    return ", ".join(f"{n}" if q["rule"] == "max_missing" and not v else f"{n} ({v!r})"
                     for n, v in q.get("first_rows") or [])


def quality_section(quality: list[dict]) -> str:
    if not quality:
        return ""
    rows = []
    for q in quality:
        verdict = ("<td class=pass>passed</td>" if q["passed"] else
                   f"<td class=fail>{'ALARM' if q['severity'] == 'alarm' else 'warning'}</td>")
        rows.append(f"<tr><td>{_esc(q['name'])}</td><td>{_esc(q['severity'])}</td>{verdict}"
                    f"<td class=num>{_esc(measured_text(q))}</td><td>{_esc(q['limit'])}</td>"
                    f"<td>{_esc(first_rows_text(q))}</td></tr>")
    return ("<h2>Data-quality rules</h2><p>The bundle's rules for the file (quality_rules.json):"
            " an <b>alarm</b> rule that fails raises an alarm, a <b>warn</b> rule is reported "
            "only. Rows are the file's data rows, counted from 1.</p><table><tr><th>Rule</th>"
            "<th>Severity</th><th>Verdict</th><th>Measured</th><th>Allowed</th>"
            "<th>First failing rows</th></tr>" + "".join(rows) + "</table>")
