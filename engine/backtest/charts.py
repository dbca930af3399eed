"""Inline SVG line charts for the back-test report: partitions along x, one line per model,
requirement bounds as dashed lines, points that miss a requirement ringed in red. Plain SVG
text, nothing fetched, so the report works offline and prints."""

from __future__ import annotations

import html
import math

COLORS = ("#1f4e9c", "#d9730d", "#2b8a3e", "#7b2cbf", "#8a6d1d", "#0b7285")
MISS = "#b00020"
WIDTH, HEIGHT = 520, 250
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 30, 56


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    span = high - low
    raw = span / count
    step = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * step:
            step *= m
            break
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _range(values: list[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    pad = max(abs(high) * 0.05, 0.01) if high - low < 1e-9 else (high - low) * 0.08
    return low - pad, high + pad


def line_chart(metric: str, partitions: list[str], series: dict[str, list[float | None]],
               bounds: list[tuple[str, str, float]],
               missed: dict[str, list[bool]]) -> str:
    """`series`: model -> value per partition (None: no value); `bounds`: (model, "min"/"max",
    value) drawn dashed in the model's colour; `missed`: model -> per partition whether the
    point misses a requirement."""
    values = [v for vs in series.values() for v in vs if v is not None and math.isfinite(v)]
    values += [b for _, _, b in bounds]
    if not values:
        return f'<p class="note">No values of {html.escape(metric)} to draw.</p>'
    low, high = _range(values)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(partitions)

    def x(i: int) -> float:
        return LEFT + (plot_w * (i + 0.5) / n)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - (v - low) / (high - low))

    color = {m: COLORS[i % len(COLORS)] for i, m in enumerate(series)}
    out = [f'<svg width="{WIDTH}" height="{HEIGHT}" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{html.escape(metric)} by '
           'partition">',
           f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
           'stroke="#ccc"/>']
    for t in _ticks(low, high):
        out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
                   'stroke="#e4e4e4"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y(t) + 4:.1f}" text-anchor="end" '
                   f'font-size="11" fill="#555">{t:.4g}</text>')
    rotate = n > 8
    for i, p in enumerate(partitions):
        if rotate:
            out.append(f'<text x="{x(i):.1f}" y="{TOP + plot_h + 12}" font-size="11" '
                       f'fill="#333" text-anchor="end" transform="rotate(-45 {x(i):.1f} '
                       f'{TOP + plot_h + 12})">{html.escape(p)}</text>')
        else:
            out.append(f'<text x="{x(i):.1f}" y="{TOP + plot_h + 16}" font-size="11" '
                       f'fill="#333" text-anchor="middle">{html.escape(p)}</text>')
    for model, name, bound in bounds:
        out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(bound):.1f}" '
                   f'y2="{y(bound):.1f}" stroke="{color.get(model, "#222")}" stroke-width="1.5" '
                   'stroke-dasharray="6 4"/>')
        out.append(f'<text x="{LEFT + 6}" y="{y(bound) - 4:.1f}" font-size="11" '
                   f'fill="{color.get(model, "#222")}" stroke="#fafafa" stroke-width="3" '
                   f'paint-order="stroke">{html.escape(model)} {name} {bound:g}</text>')
    for model, vs in series.items():
        c = color[model]
        runs, run = [], []
        for i, v in enumerate(vs):  # a missing value breaks the line
            if v is None or not math.isfinite(v):
                if run:
                    runs.append(run)
                run = []
            else:
                run.append(f"{x(i):.1f},{y(v):.1f}")
        if run:
            runs.append(run)
        for r in runs:
            out.append(f'<polyline points="{" ".join(r)}" fill="none" stroke="{c}" '
                       'stroke-width="2"/>')
        for i, v in enumerate(vs):
            if v is None or not math.isfinite(v):
                continue
            miss = missed.get(model, [False] * n)[i]
            ring = f' stroke="{MISS}" stroke-width="2.5"' if miss else ""
            out.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="{4.5 if miss else 3.5}" '
                       f'fill="{c}"{ring}><title>{html.escape(model)} {html.escape(partitions[i])}'
                       f': {v:.4f}{" (misses)" if miss else ""}</title></circle>')
    lx = LEFT
    for model in series:
        out.append(f'<line x1="{lx}" x2="{lx + 18}" y1="14" y2="14" stroke="{color[model]}" '
                   'stroke-width="2"/>')
        out.append(f'<text x="{lx + 22}" y="18" font-size="12" fill="#222">'
                   f'{html.escape(model)}</text>')
        lx += 30 + 7 * len(model)
    out.append("</svg>")
    return "".join(out)
