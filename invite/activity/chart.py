"""Actions per day by outcome, drawn on the server as SVG: no script, nothing loaded from elsewhere."""

from __future__ import annotations

from collections import Counter
from datetime import date

from markupsafe import Markup, escape

SERIES = (("succeeded", "#1b7f3b"), ("failed", "#b42318"), ("unknown", "#b26b00"))
# Besides colour, a pattern: failed bars are hatched, unknown ones dotted (red and green alone fail
# for colour-blind readers). The legend's swatches use the same patterns (static/style.css).
PATTERNS = (
    '<pattern id="hatch-failed" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    '<rect width="6" height="6" fill="#b42318"/><line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2"/>'
    '</pattern>'
    '<pattern id="dots-unknown" width="5" height="5" patternUnits="userSpaceOnUse">'
    '<rect width="5" height="5" fill="#b26b00"/><circle cx="2.5" cy="2.5" r="1.2" fill="#fff"/></pattern>'
)
FILLS = {"succeeded": "#1b7f3b", "failed": "url(#hatch-failed)", "unknown": "url(#dots-unknown)"}
WIDTH, HEIGHT = 720, 200
MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP = 36, 28, 10


def _nice_ceiling(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if value <= step * 4:
            return step * 4
    return ((value // 1000) + 1) * 1000


def chart_svg(counts: dict[date, Counter], title: str) -> Markup:
    days = sorted(counts)
    top = _nice_ceiling(max([sum(c.values()) for c in counts.values()] + [1]))
    plot_w = WIDTH - MARGIN_LEFT - 8
    plot_h = HEIGHT - MARGIN_BOTTOM - MARGIN_TOP
    slot = plot_w / max(len(days), 1)
    bar = max(slot * 0.7, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" class="chart" role="img" '
        f'aria-labelledby="chart-title">',
        f'<title id="chart-title">{escape(title)}</title>',
        f"<defs>{PATTERNS}</defs>",
    ]
    for i in range(5):  # gridlines with their values
        value = top * i // 4
        y = MARGIN_TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{MARGIN_LEFT}" y1="{y:.1f}" x2="{WIDTH - 8}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{value}</text>')
    label_every = max(1, len(days) // 8)
    for index, day in enumerate(days):
        x = MARGIN_LEFT + index * slot + (slot - bar) / 2
        y = MARGIN_TOP + plot_h
        for name, _colour in SERIES:
            n = counts[day][name]
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{FILLS[name]}">'
                         f'<title>{day.isoformat()}: {n} {name}</title></rect>')
        if index % label_every == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" class="axis">'
                         f'{day.strftime("%d %b")}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - built from numbers, dates and escaped text only
