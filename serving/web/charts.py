"""Small charts drawn as SVG on the server: no script, no file from another host, and they print.

A chart is a line over the fiscal years with its points marked and the last value written beside it; a band in
the background shows the healthy side when the measure has one. Numbers on the axes are in the page's language
(fmt), and the SVG carries a text description for screen readers.
"""

from __future__ import annotations

import math
from html import escape

from klinik.serving.web import fmt

WIDTH, HEIGHT = 320, 150
LEFT, RIGHT, TOP, BOTTOM = 44, 54, 12, 24
LINE = "#1f5f8b"
BAND = "#e6f2ea"


def _value(v: float, unit: str, lang: str, exact: bool = False) -> str:
    """A value as the chart writes it: on the axis rounded, in the description (``exact``) to one decimal."""
    digits = 1 if exact or abs(v) < 10 else 0
    if unit == "pct":
        return fmt.percent(v / 100.0, lang, digits=digits)
    if unit == "flag":
        return ("ya" if v >= 0.5 else "tidak") if lang == "id" else ("yes" if v >= 0.5 else "no")
    if unit == "count":
        return fmt.number(v, lang, digits=0)
    return fmt.number(v, lang, digits=digits)


def _nice_range(lo: float, hi: float, unit: str) -> tuple[float, float]:
    if unit == "flag":
        return 0.0, 1.0
    if unit in ("pct", "score", "count"):
        lo = min(lo, 0.0)
    if unit == "count":
        return lo, float(max(1, math.ceil(hi * 1.1)))
    if hi - lo < 1e-9:
        hi = lo + 1.0
    pad = (hi - lo) * 0.08
    return lo if lo == 0 else lo - pad, hi + pad


def line_chart(
    points: list[tuple[int, float]],
    title: str,
    unit: str,
    lang: str = "id",
    healthy: tuple[float, float] | None = None,
    fixed: tuple[float, float] | None = None,
) -> str:
    """An SVG line chart of (year, value) points; an empty chart says there is no data."""
    label = escape(title)
    if not points:
        empty = "tidak ada data" if lang == "id" else "no data"
        return (
            f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}: {empty}">'
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" class="chart-empty">{empty}</text></svg>'
        )
    years = [p[0] for p in points]
    values = [p[1] for p in points]
    y0, y1 = fixed if fixed else _nice_range(min(values), max(values), unit)
    x0, x1 = min(years), max(years)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(year: float) -> float:
        return LEFT + (plot_w / 2 if x1 == x0 else (year - x0) / (x1 - x0) * plot_w)

    def y(v: float) -> float:
        v = min(max(v, y0), y1)
        return TOP + (1 - (v - y0) / (y1 - y0)) * plot_h

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}: '
        + escape(", ".join(f"{yr} {_value(v, unit, lang, exact=True)}" for yr, v in points))
        + '">'
    ]
    if healthy is not None:
        lo, hi = max(healthy[0], y0), min(healthy[1], y1)
        if hi > lo:
            parts.append(
                f'<rect x="{LEFT}" y="{y(hi):.1f}" width="{plot_w}" height="{y(lo) - y(hi):.1f}" fill="{BAND}"/>'
            )
    for v in (y0, y1) if unit != "flag" else (0.0, 1.0):
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="chart-grid"/>'
            f'<text x="{LEFT - 4}" y="{y(v) + 4:.1f}" text-anchor="end" class="chart-axis">'
            f"{escape(_value(v, unit, lang))}</text>"
        )
    step = 1 if x1 - x0 <= 6 else 2
    for yr in range(x0, x1 + 1, step):
        parts.append(f'<text x="{x(yr):.1f}" y="{HEIGHT - 6}" text-anchor="middle" class="chart-axis">{yr}</text>')
    path = " ".join(f"{'M' if i == 0 else 'L'}{x(yr):.1f},{y(v):.1f}" for i, (yr, v) in enumerate(points))
    parts.append(f'<path d="{path}" fill="none" stroke="{LINE}" stroke-width="2"/>')
    for yr, v in points:
        parts.append(f'<circle cx="{x(yr):.1f}" cy="{y(v):.1f}" r="2.6" fill="{LINE}"/>')
    last_year, last = points[-1]
    parts.append(
        f'<text x="{x(last_year) + 6:.1f}" y="{y(last) + 4:.1f}" class="chart-last">{escape(_value(last, unit, lang))}'
        "</text></svg>"
    )
    return "".join(parts)


def share_bar(share: float, width: int = 120) -> str:
    """A small horizontal bar for a reason's share of the risk (0..1)."""
    share = 0.0 if share != share else min(max(float(share), 0.0), 1.0)
    return (
        f'<svg class="bar" viewBox="0 0 {width} 10" width="{width}" height="10" aria-hidden="true">'
        f'<rect width="{width}" height="10" class="bar-bg"/><rect width="{share * width:.1f}" height="10" '
        'class="bar-fg"/></svg>'
    )
