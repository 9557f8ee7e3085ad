"""Small inline-SVG charts (no matplotlib, no external files): loss curves and bars."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"]


def _ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    if hi <= lo:
        return [lo]
    step = (hi - lo) / n
    return [lo + i * step for i in range(n + 1)]


def line_chart(
    series: dict[str, Sequence[tuple[float, float]]],
    *,
    title: str = "",
    x_label: str = "step",
    y_label: str = "loss",
    width: int = 420,
    height: int = 240,
) -> str:
    """An SVG line chart of named (x, y) series; returns '' when there is nothing to draw."""
    points = [(x, y) for pts in series.values() for x, y in pts]
    if not points:
        return ""
    left, right, top, bottom = 48, 12, 24, 36
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(0.0, min(ys)), max(ys)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y1 = y0 + 1
    pw, ph = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return top + ph - (y - y0) / (y1 - y0) * ph

    out = [
        f'<svg width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{width / 2}" y="15" text-anchor="middle" font-size="12">{escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>',
    ]
    for t in _ticks(y0, y1):
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" stroke="#eee"/>')
        out.append(
            f'<text x="{left - 4}" y="{sy(t) + 4:.1f}" text-anchor="end" font-size="10">{t:.2f}</text>'
        )
    for t in _ticks(x0, x1):
        label = f"{t:.0f}" if x1 - x0 >= 8 else f"{t:g}"  # whole steps on long axes
        out.append(
            f'<text x="{sx(t):.1f}" y="{top + ph + 14}" text-anchor="middle" font-size="10">{label}</text>'
        )
    out.append(
        f'<text x="{left + pw / 2}" y="{height - 4}" text-anchor="middle" font-size="11">{escape(x_label)}</text>'
    )
    out.append(
        f'<text x="12" y="{top + ph / 2}" font-size="11" transform="rotate(-90 12 {top + ph / 2})" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    for i, (name, pts) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        if len(pts) > 1:
            out.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.8" points="{coords}"/>')
        for x, y in pts if len(pts) <= 40 else pts[-1:]:
            out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{color}"/>')
        ly = top + 12 + 14 * i
        out.append(f'<rect x="{left + pw - 110}" y="{ly - 8}" width="10" height="10" fill="{color}"/>')
        out.append(f'<text x="{left + pw - 96}" y="{ly + 1}" font-size="11">{escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)


def bar_chart(values: dict[str, float], *, title: str = "", width: int = 420, height: int = 200) -> str:
    """A horizontal SVG bar chart of named values in [0, 1] (e.g. F1 per system)."""
    if not values:
        return ""
    row = (height - 30) / len(values)
    out = [
        f'<svg width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{width / 2}" y="15" text-anchor="middle" font-size="12">{escape(title)}</text>',
    ]
    label_w, bar_w = 120, width - 180
    for i, (name, v) in enumerate(values.items()):
        y = 24 + i * row
        w = max(0.0, min(1.0, v)) * bar_w
        out.append(
            f'<text x="{label_w - 6}" y="{y + row * 0.6:.1f}" text-anchor="end" font-size="11">{escape(name)}</text>'
        )
        out.append(
            f'<rect x="{label_w}" y="{y + 2:.1f}" width="{w:.1f}" height="{row * 0.7:.1f}" '
            f'fill="{PALETTE[i % len(PALETTE)]}"/>'
        )
        out.append(f'<text x="{label_w + w + 4:.1f}" y="{y + row * 0.6:.1f}" font-size="11">{v:.3f}</text>')
    out.append("</svg>")
    return "".join(out)
