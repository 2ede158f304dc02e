"""A small SVG line chart of the monthly index with its confidence band (for the PDF)."""

from __future__ import annotations

from markupsafe import Markup, escape

from .report import Report
from .vocabulary import word

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 28, 30


def trend_chart(report: Report, lang: str) -> Markup:
    """Monthly overall index (line) and CI (band), y axis from the data's range."""
    points = [(t.month, t.index) for t in report.trend if t.index.share == t.index.share]
    title = escape(word("chart_title", lang))
    if not points:
        return Markup(  # noqa: S704 -- constants and the escaped title
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="40">'
            f'<text x="0" y="20">{title}</text></svg>')
    lows = [100 * e.ci_low for _m, e in points if e.ci_low == e.ci_low]
    highs = [100 * e.ci_high for _m, e in points if e.ci_high == e.ci_high]
    ymin = max(0.0, (min(lows or [0]) // 5) * 5)
    ymax = min(100.0, (max(highs or [100]) // 5 + 1) * 5)
    if ymax <= ymin:
        ymin, ymax = 0.0, 100.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(month: int) -> float:
        return LEFT + (month - 0.5) / 12 * plot_w

    def y(value: float) -> float:
        return TOP + (1 - (value - ymin) / (ymax - ymin)) * plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="DejaVu Sans, Noto Sans" '
             f'font-size="11">', f'<text x="{LEFT}" y="16" font-weight="bold">{title}</text>']
    step = 5.0 if ymax - ymin <= 40 else 10.0
    for k in range(int((ymax - ymin) // step) + 1):
        value = ymin + k * step
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" '
                     f'y2="{y(value):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end">'
                     f'{value:.0f}</text>')
    for month in range(1, 13):
        parts.append(f'<text x="{x(month):.1f}" y="{HEIGHT - 10}" text-anchor="middle">'
                     f'{month}</text>')
    band = [e for _m, e in points if e.ci_low == e.ci_low and e.ci_high == e.ci_high]
    if band:
        upper = " ".join(f"{x(m):.1f},{y(100 * e.ci_high):.1f}" for m, e in points
                         if e.ci_high == e.ci_high)
        lower = " ".join(f"{x(m):.1f},{y(100 * e.ci_low):.1f}" for m, e in reversed(points)
                         if e.ci_low == e.ci_low)
        parts.append(f'<polygon points="{upper} {lower}" fill="#1f6feb" fill-opacity="0.18"/>')
    line = " ".join(f"{x(m):.1f},{y(100 * e.share):.1f}" for m, e in points)
    parts.append(f'<polyline points="{line}" fill="none" stroke="#1f6feb" stroke-width="2"/>')
    for m, e in points:
        parts.append(f'<circle cx="{x(m):.1f}" cy="{y(100 * e.share):.1f}" r="3" '
                     f'fill="#1f6feb"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 -- only numbers and the escaped title
