"""Server-rendered SVG charts: no CDN, no JavaScript, readable without colour.

Plain Python, no Django: each function takes the bucket start times and the
series, and returns SVG markup with a title, labelled axes with units and a
legend. The numbers are also rendered as a table next to each chart (see
templates/monitoring/partials/chart.html) for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from html import escape

WIDTH, HEIGHT = 960, 280
LEFT, RIGHT, TOP, BOTTOM = 70, 16, 36, 44

# Colour-blind-safe (Okabe-Ito) with distinct dash patterns for lines.
OUTCOME_COLOURS = {
    "success": "#009E73",
    "unauthorized": "#E69F00",
    "throttled": "#56B4E9",
    "quota": "#CC79A7",
    "no_match": "#999999",
    "backend_error": "#D55E00",
    "bad_request": "#F0E442",
    "client_error": "#0072B2",
    "unavailable": "#000000",
}
LINE_STYLES = [("#0072B2", ""), ("#D55E00", ""), ("#0072B2", "6 4"), ("#D55E00", "6 4")]


def nice_step(top: float, ticks: int = 4) -> float:
    if top <= 0:
        return 1
    raw = top / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def time_label(moment: datetime, bucket_seconds: int, span_seconds: float) -> str:
    if span_seconds > 2 * 86400:
        return moment.strftime("%a %d %H:%M") if bucket_seconds < 86400 else moment.strftime("%a %d %b")
    return moment.strftime("%H:%M")


def byte_unit(top: float) -> tuple[str, float]:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if top >= size:
            return unit, size
    return "B", 1


def fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:,.1f}"


def _frame(title: str, y_label: str, top: float, buckets: Sequence[datetime], bucket_seconds: int, local) -> list[str]:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(title)}</title>",
    ]
    step = nice_step(top)
    value = 0.0
    while value <= top + 1e-9:
        y = TOP + plot_h - (value / top * plot_h if top else 0)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{fmt(value)}</text>')
        value += step
    parts.append(
        f'<text class="axis-label" transform="translate(14 {TOP + plot_h / 2:.0f}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    n = len(buckets)
    if n:
        span = n * bucket_seconds
        every = max(1, math.ceil(n / 8))
        for i in range(0, n, every):
            x = LEFT + (i + 0.5) * plot_w / n
            label = time_label(local(buckets[i]), bucket_seconds, span)
            parts.append(f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP + plot_h}" y2="{TOP + plot_h + 4}"/>')
            parts.append(
                f'<text class="tick" x="{x:.1f}" y="{TOP + plot_h + 18}" text-anchor="middle">{escape(label)}</text>'
            )
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>')
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}"/>')
    return parts


def _legend(items: Sequence[tuple[str, str, str]], kind: str) -> list[str]:
    parts, x = [], LEFT
    for label, colour, dash in items:
        if kind == "bar":
            parts.append(f'<rect x="{x}" y="10" width="12" height="12" fill="{colour}"/>')
        else:
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(
                f'<line x1="{x}" x2="{x + 18}" y1="16" y2="16" stroke="{colour}" stroke-width="3"{dash_attr}/>'
            )
        parts.append(f'<text class="legend" x="{x + 22}" y="21">{escape(label)}</text>')
        x += 30 + 7.5 * len(label)
    return parts


def _top(values: float) -> float:
    if values <= 0:
        return 1
    step = nice_step(values)
    return math.ceil(values / step) * step


def stacked_bars(
    title: str,
    y_label: str,
    buckets: Sequence[datetime],
    bucket_seconds: int,
    series: dict[str, Sequence[int]],
    labels: dict[str, str],
    local=lambda d: d,
) -> str:
    n = len(buckets)
    totals = [sum(values[i] for values in series.values()) for i in range(n)]
    top = _top(max(totals, default=0))
    parts = _frame(title, y_label, top, buckets, bucket_seconds, local)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    width = plot_w / n if n else 0
    for i in range(n):
        base = 0.0
        for key, values in series.items():
            v = values[i]
            if not v:
                continue
            h = v / top * plot_h
            y = TOP + plot_h - base - h
            parts.append(
                f'<rect x="{LEFT + i * width + width * 0.1:.1f}" y="{y:.1f}" width="{max(width * 0.8, 1):.1f}" '
                f'height="{h:.1f}" fill="{OUTCOME_COLOURS.get(key, "#777")}"><title>{escape(labels.get(key, key))}: {v}</title></rect>'
            )
            base += h
    used = [k for k in series if any(series[k])] or list(series)[:1]
    parts += _legend([(labels.get(k, k), OUTCOME_COLOURS.get(k, "#777"), "") for k in used], "bar")
    parts.append("</svg>")
    return "".join(parts)


def lines(
    title: str,
    y_label: str,
    buckets: Sequence[datetime],
    bucket_seconds: int,
    series: dict[str, Sequence[float | None]],
    scale: float = 1,
    local=lambda d: d,
) -> str:
    n = len(buckets)
    peak = max((v for values in series.values() for v in values if v is not None), default=0) / scale
    top = _top(peak)
    parts = _frame(title, y_label, top, buckets, bucket_seconds, local)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    legend = []
    for index, (label, values) in enumerate(series.items()):
        colour, dash = LINE_STYLES[index % len(LINE_STYLES)]
        legend.append((label, colour, dash))
        path, pen_down = [], False
        for i, v in enumerate(values):
            if v is None:
                pen_down = False
                continue
            x = LEFT + (i + 0.5) * plot_w / n
            y = TOP + plot_h - (v / scale) / top * plot_h
            path.append(f"{'L' if pen_down else 'M'}{x:.1f} {y:.1f}")
            pen_down = True
        if path:
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(f'<path d="{" ".join(path)}" fill="none" stroke="{colour}" stroke-width="2"{dash_attr}/>')
            if len(path) == 1 or n <= 60:
                for point in path:
                    x, y = point[1:].split()
                    parts.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="{colour}"/>')
    parts += _legend(legend, "line")
    parts.append("</svg>")
    return "".join(parts)


def table(caption: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A chart's numbers as an HTML table: the first column labels the row,
    the others are numbers. Built here rather than in a template: a 30-day
    chart has hundreds of rows and the template engine is the slow part."""
    parts = [
        '<div class="table-scroll"><table>',
        f'<caption class="visually-hidden">{escape(caption)}</caption><thead><tr>',
        f'<th scope="col">{escape(header[0])}</th>',
        *[f'<th scope="col" class="num">{escape(h)}</th>' for h in header[1:]],
        "</tr></thead><tbody>",
    ]
    for row in rows:
        parts.append(f'<tr><th scope="row">{escape(str(row[0]))}</th>')
        parts.extend(f'<td class="num">{escape(str(v))}</td>' for v in row[1:])
        parts.append("</tr>")
    parts.append("</tbody></table></div>")
    return "".join(parts)
