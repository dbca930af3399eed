"""The segments section of the back-test and now-test HTML reports: per segment table the
ranked table (worst first) and a small-multiples chart, one small panel per segment on one
shared scale: the ranking metric per partition (back-test) or its value with its 95% interval
(now-test), the bound dashed, segments that miss it in red. Inline SVG only, nothing fetched."""

from __future__ import annotations

import html
import math

from engine.formats.segments import OTHER, Segment, SegmentTable

STYLE = ("td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
         ".note{color:#555}.wide{overflow-x:auto}.segs{display:flex;flex-wrap:wrap;gap:.5em}"
         ".seg{border:1px solid #e4e4e4;padding:.2em}.seg h4{margin:0;font-size:.85em}"
         "tr.flag td{background:#fff4f4}")
PANEL_W, PANEL_H, PAD = 150, 80, 6
LINE, MISS, BOUND = "#1f4e9c", "#b00020", "#777"


def _e(text) -> str:
    return html.escape(str(text))


def _n(x) -> str:
    return "–" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.4f}"


def _name(s: Segment) -> str:
    return f"other ({s.values} values)" if s.value == OTHER else s.value


def _table(t: SegmentTable) -> str:
    metrics = list(dict.fromkeys(m for s in t.segments for m in s.metrics))
    head = "".join(f"<th>{_e(m)}</th>" for m in metrics)

    def row(rank: int, s: Segment) -> str:
        lo, hi = s.intervals.get(t.metric, [None, None])
        flags = [*(f"missed: {m}" for m in s.missed),
                 *([f"drifted: {', '.join(s.drifted)}"] if s.drifted else [])]
        verdict = (f"<td class='fail why'>{_e('; '.join(flags))}</td>" if flags
                   else "<td class='pass why'>ok</td>")
        return (f"<tr{' class=flag' if flags else ''}><td class=num>{rank}</td>"
                f"<td>{_e(_name(s))}</td><td class=num>{s.rows}</td>"
                f"<td class=num>{_n(s.metrics.get(t.metric))}</td>"
                f"<td class=num>{_n(lo)} to {_n(hi)}</td>{verdict}"
                + "".join(f"<td class=num>{_n(s.metrics.get(m))}</td>" for m in metrics)
                + "</tr>")
    body = "".join(row(i + 1, s) for i, s in enumerate(t.segments))
    return (f"<div class=wide><table class=segments data-column='{_e(t.column)}'><tr><th>#</th>"
            f"<th>{_e(t.column)}</th><th>Rows</th><th>{_e(t.metric)}</th>"
            f"<th>95% interval</th><th>Verdict</th>{head}</tr>{body}</table></div>")


def _scale(t: SegmentTable) -> tuple[float, float] | None:
    values = [v for s in t.segments for v in (s.metrics.get(t.metric),
                                              *s.intervals.get(t.metric, []),
                                              *s.by_partition.values())
              if v is not None and math.isfinite(v)]
    values += [b for m, _, b in t.bounds if m == t.metric]
    if not values:
        return None
    low, high = min(values), max(values)
    pad = max((high - low) * 0.05, 0.01)
    return low - pad, high + pad


def _panel(t: SegmentTable, s: Segment, low: float, high: float, keys: list[str]) -> str:
    def y(v: float) -> float:
        return PAD + (PANEL_H - 2 * PAD) * (1 - (v - low) / (high - low))

    color = MISS if s.missed else LINE
    out = [f'<svg width="{PANEL_W}" height="{PANEL_H}" viewBox="0 0 {PANEL_W} {PANEL_H}" '
           f'role="img" aria-label="{_e(t.metric)} of {_e(_name(s))}">',
           f'<rect x="0" y="0" width="{PANEL_W}" height="{PANEL_H}" fill="#fafafa"/>']
    for m, _, b in t.bounds:
        if m == t.metric:
            out.append(f'<line x1="0" x2="{PANEL_W}" y1="{y(b):.1f}" y2="{y(b):.1f}" '
                       f'stroke="{BOUND}" stroke-dasharray="4 3"/>')
    if keys:
        step = (PANEL_W - 2 * PAD) / max(1, len(keys) - 1)
        points = [(PAD + i * step, s.by_partition.get(k)) for i, k in enumerate(keys)]
        drawn = [(x, v) for x, v in points if v is not None and math.isfinite(v)]
        if len(drawn) > 1:
            path = " ".join(f"{x:.1f},{y(v):.1f}" for x, v in drawn)
            out.append(f'<polyline points="{path}" fill="none" stroke="{color}"/>')
        out += [f'<circle cx="{x:.1f}" cy="{y(v):.1f}" r="2" fill="{color}"/>'
                for x, v in drawn]
    else:
        v = s.metrics.get(t.metric)
        lo, hi = s.intervals.get(t.metric, [None, None])
        mid = PANEL_W / 2
        if lo is not None and hi is not None:
            out.append(f'<line x1="{mid}" x2="{mid}" y1="{y(lo):.1f}" y2="{y(hi):.1f}" '
                       f'stroke="{color}" stroke-width="2"/>')
        if v is not None and math.isfinite(v):
            out.append(f'<circle cx="{mid}" cy="{y(v):.1f}" r="4" fill="{color}"/>')
    out.append("</svg>")
    return "".join(out)


def _chart(t: SegmentTable) -> str:
    scale = _scale(t)
    if scale is None:
        return f"<p class=note>No values of {_e(t.metric)} to draw.</p>"
    keys = sorted({k for s in t.segments for k in s.by_partition})
    how = ("per partition" if keys else "with its 95% interval")
    panels = "".join(
        f"<div class=seg><h4>{_e(_name(s))} ({s.rows:,} rows, {_n(s.metrics.get(t.metric))})"
        f"</h4>{_panel(t, s, *scale, keys)}</div>" for s in t.segments)
    return (f"<p class=note>{_e(t.metric)} {how}, one panel per segment on one scale, worst "
            "first; dashed: the bound; red: a segment that misses it.</p>"
            f"<div class=segs>{panels}</div>")


def render_segments(tables: list[SegmentTable]) -> str:
    """The HTML of every segment table (empty without any)."""
    out = []
    for t in tables:
        what = ("held to the requirements: a segment that misses a bound fails the run"
                if t.held else "measured against the requirements for information only")
        bounds = "; ".join(f"{m} {n} {b:g}" for m, n, b in t.bounds) or "no bounds"
        notes = "".join(f"<p class=note>{_e(n)}</p>" for n in t.notes)
        out.append(f"<h2>Segments by {_e(t.column)}</h2><p class=note>The {len(t.segments)} "
                   f"segments ranked worst first, {what} ({_e(bounds)}); intervals from "
                   f"{t.draws} bootstrap resamples of each segment.</p>{notes}{_table(t)}"
                   f"{_chart(t)}")
    return (f"<style>{STYLE}</style>" + "".join(out)) if out else ""
