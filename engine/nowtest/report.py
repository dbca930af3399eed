"""A self-contained HTML report of a now-test (inline SVG: works offline, nothing to fetch), in
the look of the regression report: the verdict and its reasons, the metrics against the
requirements, the label-free estimate, drift per feature, and out-of-range shares."""

from __future__ import annotations

import html
import math

from engine.formats.segment_report import render_segments
from engine.nowtest.multivariate_report import multivariate_row
from engine.nowtest.quality_report import quality_section
from engine.nowtest.reasons import OUT_OF_RANGE_MAX, number
from engine.nowtest.result import FeatureDrift, NowtestResult
from engine.regression.report import STYLE

EXTRA_STYLE = ("td.num{text-align:right;font-variant-numeric:tabular-nums}"
               ".muted{color:#666}ul.notes li{margin:.2em 0}td{white-space:nowrap}"
               "li{max-width:70em}")
WIDTH = 260
SHORT_NAMES = {"ks": "Kolmogorov-Smirnov", "wasserstein": "Wasserstein / sd", "psi": "PSI",
               "chi2": "chi-square", "jensenshannon": "Jensen-Shannon"}
GREEN, RED, GREY = "#0a6e32", "#b00020", "#888"


def _esc(text) -> str:
    return html.escape(str(text))


def _svg_bar(fraction: float, mark: float, color: str, label: str) -> str:
    """A bar filled to `fraction` of its width with a dashed line at `mark` (both 0..1)."""
    x_val = WIDTH * min(1.0, max(0.0, fraction))
    x_mark = WIDTH * min(1.0, max(0.0, mark))
    return (f'<svg width="{WIDTH + 10}" height="22" role="img" aria-label="{_esc(label)}">'
            f'<rect x="0" y="4" width="{WIDTH}" height="14" fill="#f3f3f3"/>'
            f'<rect x="0" y="4" width="{x_val:.1f}" height="14" fill="{color}"/>'
            f'<line x1="{x_mark:.1f}" x2="{x_mark:.1f}" y1="0" y2="22" stroke="#222" '
            'stroke-width="2" stroke-dasharray="4 2"/></svg>')


def _drift_bar(d: FeatureDrift) -> str:
    """The evidence against its threshold at a third of the width: the distance itself, or
    for p-value tests -log10(p) against -log10(threshold)."""
    if d.p_value is not None:
        value = -math.log10(max(d.p_value, 1e-300))
        bound = -math.log10(d.threshold)
    else:
        value, bound = d.statistic, d.threshold
    if not math.isfinite(value):
        value = 3 * bound
    return _svg_bar(value / (3 * bound) if bound > 0 else 1.0, 1 / 3,
                    RED if d.drifted else GREEN, d.feature)


def _value(v) -> str:
    return "" if v is None or (isinstance(v, float) and not math.isfinite(v)) else number(v)


def _requirements(result: NowtestResult) -> str:
    if not result.requirements:
        why = ("the file has no labels" if result.metrics is None
               else "the model has no requirements")
        return f"<h2>Requirements</h2><p class=muted>Not checked: {why}.</p>"
    rows = []
    for r in result.requirements:
        value, bound = r.get("value"), r["bound"]
        top = max(1.0, abs(value or 0.0), abs(bound)) * 1.05
        fraction = max(0.0, value or 0.0) / top
        bar = _svg_bar(fraction, max(0.0, bound) / top, GREEN if r["passed"] else RED,
                       r["metric"])
        rows.append(f"<tr><td>{_esc(r['metric'])}</td><td class=num>{_value(value)}</td>"
                    f"<td>{r['bound_name']} {bound:g}</td>"
                    f"<td class={'pass' if r['passed'] else 'fail'}>"
                    f"{'met' if r['passed'] else 'missed'}</td><td>{bar}</td></tr>")
    return (f"<h2>Requirements on the {result.labelled:,} labelled rows</h2><p>Bar: the "
            "measured value; dashed line: the requirement.</p><table><tr><th>Metric</th>"
            "<th>Value</th><th>Requirement</th><th>Verdict</th><th></th></tr>"
            + "".join(rows) + "</table>")


def _metrics(result: NowtestResult) -> str:
    names = list(dict.fromkeys([*(result.metrics or {}), *(result.estimate or {})]))
    if not names:
        return ""
    ref = result.reference_metrics or {}
    check = result.estimate_reference or {}
    rows = "".join(
        f"<tr><td>{_esc(m)}</td><td class=num>{_value((result.metrics or {}).get(m))}</td>"
        f"<td class=num>{_value((result.estimate or {}).get(m))}</td>"
        f"<td class=num>{_value(ref.get(m))}</td>"
        f"<td class=num>{_value(check.get(m, {}).get('estimated'))}</td></tr>" for m in names)
    calibrated = (" The probabilities were recalibrated with an isotonic map fitted on the "
                  "reference rows before estimating." if result.calibrated else "")
    return ("<h2>Metrics and the label-free estimate</h2><p>Estimated: from the model's own "
            "probabilities, as if they were the true chances (confidence-based, as NannyML's "
            f"CBPE).{calibrated}</p><table><tr><th>Metric</th><th>This file (labels)</th>"
            "<th>This file (estimated)</th><th>Reference (labels)</th>"
            "<th>Reference (estimated, raw)</th></tr>" + rows + "</table>")


def _drift(result: NowtestResult) -> str:
    items = [*result.drift, *([result.prediction_drift] if result.prediction_drift else [])]
    if not items:
        return "<h2>Drift</h2><p class=muted>Not measured (no reference rows).</p>"
    rows = "".join(
        f"<tr><td>{_esc(d.feature)}</td><td>{_esc(SHORT_NAMES.get(d.test, d.test))}</td>"
        f"<td class=num>{d.statistic:.4g}</td>"
        f"<td class=num>{'' if d.p_value is None else f'{d.p_value:.3g}'}</td>"
        f"<td class=num>{'p &lt; ' if d.p_value is not None else ''}{d.threshold:.3g}</td>"
        f"<td class=num>{d.missing_reference:.1%} / {d.missing_current:.1%}"
        f"{' (drifted)' if d.missing_drifted else ''}</td>"
        f"<td class={'fail' if d.drifted else 'pass'}>{'drifted' if d.drifted else 'no'}</td>"
        f"<td>{_drift_bar(d)}</td></tr>" for d in items)
    return ("<h2>Drift against the reference sample</h2><p>Bar: the evidence (the distance, "
            "or -log10 p for tests); dashed line: the threshold.</p><table><tr>"
            "<th>Feature</th><th>Test</th><th>Statistic</th><th>p</th><th>Threshold</th>"
            "<th>Missing (ref / file)</th><th>Drifted</th><th></th></tr>" + rows
            + multivariate_row(result.multivariate) + "</table>")


def _color(share: float) -> str:
    return RED if share > OUT_OF_RANGE_MAX else GREEN


def _out_of_range(result: NowtestResult) -> str:
    if not result.out_of_range:
        return ""
    rows = "".join(
        f"<tr><td>{_esc(name)}</td><td class=num>{share:.2%}</td>"
        f"<td class={'fail' if share > OUT_OF_RANGE_MAX else 'pass'}>"
        f"{'over the limit' if share > OUT_OF_RANGE_MAX else 'ok'}</td>"
        f"<td>{_svg_bar(share / (4 * OUT_OF_RANGE_MAX), 0.25, _color(share), name)}</td></tr>"
        for name, share in result.out_of_range.items())
    return ("<h2>Outside what the model was trained on</h2><p>Share of each column's values "
            "outside the schema's range (numbers) or among categories it never saw; dashed "
            f"line: the limit, {OUT_OF_RANGE_MAX:.0%}.</p><table><tr><th>Feature</th>"
            "<th>Share</th><th>Verdict</th><th></th></tr>" + rows + "</table>")


def render(result: NowtestResult, title: str = "Now-test") -> str:
    verdict = ("<span class=fail>ALARM</span>" if result.alarm
               else "<span class=pass>NO ALARM</span>")
    reasons = "".join(f"<li>{_esc(r.message)}</li>" for r in result.reasons)
    notes = "".join(f"<li>{_esc(n)}</li>" for n in result.notes)
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{_esc(title)}</title>"
        f"<style>{STYLE}{EXTRA_STYLE}</style></head><body>"
        f"<h1>{_esc(title)}: {verdict}</h1>"
        f"<p>Model {_esc(result.model)}; file {_esc(result.input)} "
        f"<span class=muted>(sha256 {_esc(result.input_sha256[:16])}…)</span>; "
        f"{result.rows:,} rows, {result.labelled:,} labelled, {result.rejected:,} refused.</p>"
        + (f"<h2>Why the alarm</h2><ul>{reasons}</ul>" if reasons else "")
        + _requirements(result) + _metrics(result) + _drift(result) + _out_of_range(result)
        + quality_section(result.quality) + render_segments(result.segments)
        + (f"<h2>Notes</h2><ul class=notes>{notes}</ul>" if notes else "")
        + "</body></html>\n")
