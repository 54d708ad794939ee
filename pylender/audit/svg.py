"""Tiny self-contained SVG charts (no CDN, no JavaScript) for the HTML report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def _fmt(value: float) -> str:
    if abs(value) >= 1e9:
        return f"{value / 1e9:.1f}G"
    if abs(value) >= 1e6:
        return f"{value / 1e6:.1f}M"
    if abs(value) >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}"


def bar_chart(title: str, labels: Sequence[str], values: Sequence[int], width: int = 640, height: int = 260) -> str:
    """Vertical bars with value labels."""
    left, bottom, top = 60, 40, 30
    plot_h = height - bottom - top
    top_value = max([*values, 1])
    n = max(len(values), 1)
    slot = (width - left - 10) / n
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f'<text x="{width / 2}" y="18" text-anchor="middle" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#333"/>',
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = plot_h * value / top_value
        x = left + i * slot + slot * 0.15
        y = top + plot_h - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
            f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(label)}: {value:,}</title></rect>'
        )
        parts.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="11">{_fmt(value)}</text>'
        )
        parts.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{height - 22}" text-anchor="middle" '
            f'font-size="11">{escape(label[:14])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    title: str,
    series: Mapping[str, Sequence[tuple[int, int]]],
    x_label: str = "block",
    width: int = 640,
    height: int = 300,
) -> str:
    """Step lines of cumulative values (one per series) over x, with a legend."""
    left, right, bottom, top = 70, 170, 40, 30
    points = [p for s in series.values() for p in s]
    if not points:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="40"><text x="10" y="25">'
            f"{escape(title)}: no data</text></svg>"
        )
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y1 = max([p[1] for p in points] + [1])
    y0 = min([p[1] for p in points] + [0])
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (plot_w * (x - x0) / (x1 - x0) if x1 > x0 else plot_w / 2)

    def sy(y: float) -> float:
        return top + plot_h - plot_h * (y - y0) / (y1 - y0 if y1 > y0 else 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f'<text x="{left + plot_w / 2}" y="18" text-anchor="middle" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{sy(y0):.1f}" x2="{left + plot_w}" y2="{sy(y0):.1f}" stroke="#333"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#333"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="11">{_fmt(y1)}</text>',
        f'<text x="{left - 6}" y="{sy(y0):.1f}" text-anchor="end" font-size="11">{_fmt(y0)}</text>',
        f'<text x="{left}" y="{height - 12}" font-size="11">{x_label} {x0}</text>',
        f'<text x="{left + plot_w}" y="{height - 12}" text-anchor="end" font-size="11">{x1}</text>',
    ]
    for i, (name, pts) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        path: list[str] = []
        prev_y = None
        for x, y in pts:
            if prev_y is not None:
                path.append(f"{sx(x):.1f},{sy(prev_y):.1f}")
            path.append(f"{sx(x):.1f},{sy(y):.1f}")
            prev_y = y
        parts.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{" ".join(path)}">'
            f"<title>{escape(name)}</title></polyline>"
        )
        ly = top + 14 * i + 8
        parts.append(f'<rect x="{left + plot_w + 10}" y="{ly - 8}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{left + plot_w + 24}" y="{ly + 1}" font-size="11">{escape(name[:22])}</text>')
    parts.append("</svg>")
    return "".join(parts)
