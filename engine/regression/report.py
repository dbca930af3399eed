"""A self-contained HTML report of a regression run: the verdict, the failing cases, and each
metric drawn against its requirement (inline SVG: works offline, nothing to fetch)."""

from __future__ import annotations

import html

from engine.regression.suite import RequirementResult, SuiteResult

STYLE = ("body{font-family:sans-serif;margin:2em;color:#222}h1{margin-bottom:.2em}"
         ".pass{color:#0a6e32}.fail{color:#b00020}table{border-collapse:collapse;margin:1em 0}"
         "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}th{background:#f3f3f3}"
         ".down{color:#2471a3}summary{cursor:pointer;margin:.3em 0}")


def _bar(r: RequirementResult) -> str:
    """A 0..1 scale (metrics above 1 are scaled to their own maximum) with the value's bar and
    the requirement's line."""
    top = max(1.0, abs(r.value or 0.0), abs(r.bound)) * 1.05
    width = 360
    x_val = width * max(0.0, (r.value or 0.0)) / top
    x_req = width * max(0.0, r.bound) / top
    color = "#0a6e32" if r.passed else "#b00020"
    return (f'<svg width="{width + 10}" height="34" role="img" aria-label="{r.metric}">'
            f'<rect x="0" y="8" width="{x_val:.1f}" height="18" fill="{color}"/>'
            f'<line x1="{x_req:.1f}" x2="{x_req:.1f}" y1="2" y2="32" stroke="#222" '
            'stroke-width="2" stroke-dasharray="4 2"/></svg>')


def _why(why) -> str:
    """One case's explanation: the decision, and each input's contribution as a bar from the
    model's average score (the app's Why? panel, in the report)."""
    if why.rejected is not None:
        return f"<p>Rejected: {html.escape(why.rejected)}</p>"
    ranked = sorted(why.items, key=lambda i: -abs(i[2]))
    top = max(abs(c) for *_, c in ranked) or 1.0
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{html.escape(value or '(missing)')}</td>"
        f"<td class={'fail' if c > 0 else 'down'}>{c:+.4f}</td><td><svg width=160 height=12>"
        f"<rect x={80 if c > 0 else 80 - 80 * abs(c) / top:.1f} y=1 "
        f"width={80 * abs(c) / top:.1f} height=10 fill={'#c0392b' if c > 0 else '#2471a3'}/>"
        "<line x1=80 x2=80 y1=0 y2=12 stroke=#222 /></svg></td></tr>" for name, value, c in ranked)
    return (f"<p>Prediction {html.escape(why.decision)}; score for "
            f"{html.escape(why.explained)} {why.score:.4f} = average {why.base:.4f} + the "
            f"contributions below ({html.escape(why.space)}).</p><table><tr><th>Input</th>"
            f"<th>Value</th><th>Moved the score by</th><th></th></tr>{rows}</table>")


def _whys(result: SuiteResult, whys: dict) -> str:
    if not whys:
        return ""
    parts = "".join(
        f"<details><summary>Row {c.row} ({html.escape(c.kind)}"
        f"{': ' + html.escape(c.note) if c.note else ''}): "
        f"{'passed' if c.passed else 'FAILED'}</summary>{_why(whys[i])}</details>"
        for i, c in enumerate(result.cases) if i in whys)
    return ("<h2>Why each case got its prediction</h2><p>Exact contributions of each input "
            "to the model's score, from its average over the training data.</p>" + parts)


def render(result: SuiteResult, title: str = "Regression suite",
           whys: dict | None = None) -> str:
    """``whys``: case index -> its explanation (engine.services.explain.RowWhy), shown per
    case when given."""
    verdict = ("<span class=pass>PASSED</span>" if result.passed
               else "<span class=fail>FAILED</span>")
    rows = "".join(
        f"<tr><td>{html.escape(r.metric)}</td><td>{'' if r.value is None else f'{r.value:.6g}'}"
        f"</td><td>{r.bound_name} {r.bound:g}</td><td>{r.rows}</td>"
        f"<td class={'pass' if r.passed else 'fail'}>{'met' if r.passed else 'missed'}</td>"
        f"<td>{_bar(r)}</td></tr>" for r in result.requirements)
    failed = [c for c in result.cases if not c.passed]
    case_rows = "".join(
        f"<tr><td>{c.row}</td><td>{html.escape(c.kind)}</td><td>{html.escape(c.note)}</td>"
        f"<td>{html.escape(c.detail)}</td></tr>" for c in failed)
    problems = "".join(f"<li>{html.escape(p)}</li>" for p in result.problems)
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}: {verdict}</h1>"
        f"<p>Model {html.escape(result.model)}; {len(result.cases)} cases, {len(failed)} "
        f"failed; reference sample {result.reference_rows} rows "
        f"({result.reference_rejected} rejected).</p>"
        + (f"<h2>Why it failed</h2><ul>{problems}</ul>" if problems else "")
        + "<h2>Requirements on the reference sample</h2><p>Bar: the measured value; dashed "
        "line: the requirement.</p><table><tr><th>Metric</th><th>Value</th><th>Requirement</th>"
        f"<th>Rows</th><th>Verdict</th><th></th></tr>{rows}</table>"
        + (f"<h2>Failing cases</h2><table><tr><th>Row</th><th>Kind</th><th>Note</th>"
           f"<th>What went wrong</th></tr>{case_rows}</table>" if failed else
           "<h2>Cases</h2><p>Every case is within its tolerance.</p>")
        + _whys(result, whys or {})
        + "</body></html>\n")
