"""The report's charts, drawn with matplotlib as inline SVG: self-contained, offline, text kept as text.

Each function returns one ``<svg>`` element (no XML prolog) sized to the page by CSS. Labels are never
shortened: the figure grows to hold them (``bbox_inches="tight"``). Axes show token units with thousands
separators; the exact figures are in the tables beside the charts.
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

PALETTE = ("#1f5f99", "#d9822b", "#3a8f5c", "#9b4d96", "#b03a2e", "#6b7b8c", "#c9a227", "#2c9faf")
WIDTH_IN = 11.5  # inches at 96 dpi: 1,104 px, inside the page's 1,124 px column (scaled down on narrower pages)
LABEL_WIDTH = 34  # characters per line of an axis label; longer names wrap onto more lines, never cut
_SVG_START = re.compile(r"<svg\b")


def _figure(height: float) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, height), dpi=96, layout="constrained")
    return fig


def _svg(fig: Any, title: str) -> str:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "pylender-audit-report", "font.size": 10}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Title": title})
    text = buffer.getvalue()
    start = _SVG_START.search(text)
    svg = text[start.start() :] if start else text
    return svg.replace("<svg ", f'<svg role="img" aria-label="{_attr(title)}" ', 1)


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _money_axis(axis: Any, label: str) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"))
    axis.set_label_text(label)


def _count_axis(axis: Any, label: str) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:,.0f}"))
    axis.set_label_text(label)


def _wrapped(labels: Sequence[str]) -> list[str]:
    """Labels as they are drawn: whole, a long one over several lines."""
    return ["\n".join(textwrap.wrap(label, LABEL_WIDTH)) or label for label in labels]


def horizontal_bars(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    unit: str,
    notes: Sequence[str] | None = None,
    *,
    counts: bool = False,
) -> str:
    """One bar per label (whole labels on the y axis), each with its figure written beside it; ``counts``:
    the values are numbers of things (integer ticks), not amounts."""
    fig = _figure(max(1.6, 0.5 * len(labels) + 1.0))
    ax = fig.add_subplot()
    positions = list(range(len(labels)))
    ax.barh(positions, values, color=[PALETTE[i % len(PALETTE)] for i in positions])
    ax.set_yticks(positions, labels=_wrapped(labels))
    ax.invert_yaxis()
    ax.set_title(title, loc="left", fontweight="bold")
    (_count_axis if counts else _money_axis)(ax.xaxis, unit)
    top = max([*values, 0.0])
    ax.set_xlim(0, top * 1.25 if top > 0 else 1)
    for pos, value, note in zip(positions, values, notes or [""] * len(labels), strict=True):
        ax.annotate(note, (value, pos), xytext=(4, 0), textcoords="offset points", va="center", fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig, title)


def stacked_bars(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float]], unit: str) -> str:
    """One horizontal bar per label, stacked by series (a legend names them)."""
    lines = sum(max(1, len(textwrap.wrap(label, LABEL_WIDTH))) for label in labels)
    fig = _figure(max(1.8, 0.32 * lines + 0.25 * len(labels) + 1.4))
    ax = fig.add_subplot()
    positions = list(range(len(labels)))
    left = [0.0] * len(labels)
    for i, (name, values) in enumerate(series.items()):
        ax.barh(positions, values, left=left, label=name, color=PALETTE[i % len(PALETTE)])
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_yticks(positions, labels=_wrapped(labels))
    ax.invert_yaxis()
    ax.set_title(title, loc="left", fontweight="bold")
    _money_axis(ax.xaxis, unit)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncols=min(4, len(series)), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig, title)


def steps_over_time(
    title: str,
    series: Mapping[str, Sequence[tuple[int, float]]],
    unit: str,
    zone: tzinfo,
    zone_name: str,
) -> str:
    """Cumulative values over time (unix seconds on x, shown as dates in ``zone``), one step line per series."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    fig = _figure(3.4)
    ax = fig.add_subplot()
    for i, (name, points) in enumerate(series.items()):
        if not points:
            continue
        xs = [datetime.fromtimestamp(t, zone) for t, _ in points]
        ax.step(xs, [v for _, v in points], where="post", label=name, color=PALETTE[i % len(PALETTE)], linewidth=2)
    locator = AutoDateLocator(tz=zone)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=zone))
    ax.set_xlabel(f"date ({zone_name})")
    ax.set_title(title, loc="left", fontweight="bold")
    _money_axis(ax.yaxis, unit)
    if any(series.values()):
        ax.legend(loc="upper left", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig, title)
