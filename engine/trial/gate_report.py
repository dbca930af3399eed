"""A self-contained HTML report of a gate run: the verdict and the reasons first, each check,
the requirements the candidate was held to, then the evidence as the regression, back-test and
now-test reports show it (their own renderers, embedded under this report's headings)."""

from __future__ import annotations

import html
import re

from engine.backtest.report import STYLE as BACKTEST_STYLE
from engine.backtest.report import render as render_backtest
from engine.nowtest.report import EXTRA_STYLE as NOWTEST_STYLE
from engine.nowtest.report import render as render_nowtest
from engine.regression.report import render as render_suite
from engine.trial.gate_result import GateResult

STYLE = BACKTEST_STYLE + NOWTEST_STYLE + "ol.reasons li{margin:.4em 0;max-width:70em}"


def _e(text) -> str:
    return html.escape(str(text))


def embedded(document: str) -> str:
    """The body of another report, its own title dropped and its headings one level down."""
    body = document.split("<body>", 1)[-1].rsplit("</body>", 1)[0]
    body = re.sub(r"<h1>.*?</h1>", "", body, count=1, flags=re.S)
    for level in (3, 2):
        body = body.replace(f"<h{level}>", f"<h{level + 1}>").replace(f"</h{level}>",
                                                                     f"</h{level + 1}>")
    return body


def render(result: GateResult) -> str:
    accepted = result.accepted
    verdict = ("<span class=fail>ACCEPTED ANYWAY</span>" if result.forced else
               "<span class=pass>ACCEPT</span>" if accepted else
               "<span class=fail>REJECT</span>")
    heading = ("Why it was accepted anyway" if result.forced else
               "Why it is accepted" if accepted else "Why it is rejected")
    title = f"Promotion gate of {result.candidate} against {result.champion}"
    why = "".join(f"<li>{_e(r)}</li>" for r in result.reasons)
    check_rows = "".join(
        f"<tr><td>{_e(c.name)}</td><td class={'pass' if c.passed else 'fail'}>"
        f"{'passed' if c.passed else 'failed'}</td><td>{_e(c.detail)}</td></tr>"
        for c in result.checks)
    req_rows = "".join(
        f"<tr><td>{_e(r['metric'])}</td><td>{_e(r['bound_name'])} {r['bound']:g}</td>"
        f"<td>{_e(r['applies'])}</td><td>{_e(r['from'])}</td></tr>"
        for r in result.requirements)
    rule = ("the 95% interval of the overall difference excludes zero" if result.margin is None
            else f"the overall difference is at least {result.margin:g}")
    facts = [("Candidate", result.candidate), ("Bundle sha256", result.bundle_sha256),
             ("Champion", result.champion), ("Corpus", result.corpus),
             ("Time column", result.time_column), ("Partitioned by", result.by),
             ("Latest data", result.latest or "not given"),
             ("Primary metric", result.metric), ("Beats the champion when", rule),
             ("Tolerance per partition", f"{result.tolerance:g}"), ("Run at", result.at)]
    fact_rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts)
    sections = [("Regression suite of the candidate", embedded(render_suite(result.suite))),
                ("Back-test: the candidate against the champion",
                 embedded(render_backtest(result.backtest)))]
    if result.nowtest is not None:
        sections.append(("Now-test of the candidate on the latest data",
                         embedded(render_nowtest(result.nowtest))))
    evidence = "".join(f"<h2>{_e(head)}</h2>{body}" for head, body in sections)
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{_e(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{_e(title)}: {verdict}</h1>"
        f"<h2>{heading}</h2>"
        f"<ol class=reasons>{why}</ol>"
        "<h2>Checks</h2><table><tr><th>Check</th><th>Verdict</th><th>Figures</th></tr>"
        f"{check_rows}</table>"
        "<h2>Requirements the candidate is held to</h2><p class=note>The stricter of the "
        "candidate's own (with this workstation's ratchet steps) and the champion's.</p>"
        "<table><tr><th>Metric</th><th>Bound</th><th>Applies</th><th>From</th></tr>"
        f"{req_rows}</table><table>{fact_rows}</table>{evidence}</body></html>\n")
