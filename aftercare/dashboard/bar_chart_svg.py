"""A bar chart as inline SVG (weekly statistics): a pure function, no chart library.

Categories (weeks) along the bottom, one bar per series in each category, a value axis
with round-number gridlines, a legend when there is more than one series. Each bar has a
<title> with its exact number; the description lists them all for screen readers. Pages
also show the numbers in a table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from markupsafe import Markup

from aftercare.dashboard.strings import text
from aftercare.dashboard.svg import (
    ACCENT,
    GRID,
    INK,
    MUTED,
    NARROWEST_PX,
    STATE_COLOURS,
    TICK_PX,
    axis_label,
    both_layouts,
    esc,
    pct,
    svg_open,
    text_width,
)

LEGEND_PX = 12
TOP, BOTTOM = 34, 26  # px above the plot (legend) and below it (category labels)
LEGEND_TOP = 8


@dataclass(frozen=True)
class BarSeries:
    name: str
    values: Sequence[float]
    colour: str = ACCENT  # a hex colour, or a reminder state name ("delivered")

    @property
    def fill(self) -> str:
        return STATE_COLOURS.get(self.colour, self.colour)


def nice_ceiling(maximum: float, ticks: int = 4, whole: bool = True) -> tuple[float, float]:
    """A round top for the axis and the step between gridlines (1, 2 or 5 x 10^n; at
    least 1 when the values are `whole` counts, so there is never a 0.5 gridline)."""
    if maximum <= 0:
        return 1.0, 1.0
    raw = maximum / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    if whole:
        step = max(step, 1)
    return round(step * math.ceil(maximum / step - 1e-9), 12), float(step)


def compact(value: float) -> str:
    """1200 -> 1.2k, 35000 -> 35k, 2500000 -> 2.5M; small numbers as they are."""
    for limit, suffix in ((1_000_000, "M"), (1_000, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{value:g}"


def _label_every(categories: Sequence[str], slot_px: float) -> int:
    widest = max((text_width(c, TICK_PX) for c in categories), default=0.0)
    return max(1, math.ceil((widest + 6) / slot_px)) if slot_px > 0 else 1


def bar_chart_svg(
    title: str,
    categories: Sequence[str],
    series: Sequence[BarSeries],
    *,
    height: int = 240,
    language: str = "en",
    element_id: str = "chart",
    layout_px: int = NARROWEST_PX,
) -> Markup:
    """Inline SVG (safe to insert into a page as it is: every text is escaped). Category
    labels are thinned so that they do not overlap at `layout_px` wide or wider."""
    if not series:
        raise ValueError("a chart needs at least one series")
    for one in series:
        if len(one.values) != len(categories):
            raise ValueError(
                f"series {one.name!r} has {len(one.values)} values for {len(categories)} categories"
            )
        if any(v < 0 or not math.isfinite(v) for v in one.values):
            raise ValueError(f"series {one.name!r} has a negative or non-finite value")
    values = [v for one in series for v in one.values]
    top_value, step = nice_ceiling(max(values, default=0), whole=all(v == int(v) for v in values))
    ticks = round(top_value / step)
    tick_labels = [compact(step * i) for i in range(ticks + 1)]
    # the value labels' column, as a share of the width at the layout width
    gutter = (max(text_width(label, TICK_PX) for label in tick_labels) + 12) / layout_px
    plot_top, plot_bottom = TOP, height - BOTTOM
    plot_px = plot_bottom - plot_top

    def y_of(value: float) -> float:
        return plot_bottom - plot_px * value / top_value

    bars = [
        text("chart.bar", language, category=category, series=one.name, value=f"{v:g}")
        for i, category in enumerate(categories)
        for one in series
        for v in [one.values[i]]
    ]
    parts = [svg_open("chart", height, element_id, title, "; ".join(bars))]
    for i, label in enumerate(tick_labels):
        y = y_of(step * i)
        parts.append(
            f'<line x1="{pct(gutter)}" x2="100%" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID if i else MUTED}"/>'
            + axis_label(pct(gutter), y + 4, label, "end", dx=-6)
        )
    slot = (1 - gutter) / max(1, len(categories))
    every = _label_every(categories, slot * layout_px)
    bar_width = slot * 0.72 / len(series)
    for i, category in enumerate(categories):
        left = gutter + slot * i + slot * 0.14
        for k, one in enumerate(series):
            value = one.values[i]
            y = y_of(value)
            parts.append(
                f'<rect x="{pct(left + bar_width * k)}" y="{y:.1f}" width="{pct(bar_width)}" '
                f'height="{plot_bottom - y:.1f}" rx="2" fill="{esc(one.fill)}">'
                f"<title>{esc(bars[i * len(series) + k])}</title></rect>"
            )
        if i % every == 0:
            parts.append(axis_label(pct(gutter + slot * (i + 0.5)), height - 8, category))
    if len(series) > 1:
        offset = 0.0  # px from the gutter: legend entries sit side by side at any width
        for one in series:
            parts.append(
                f'<g transform="translate({offset:.0f} 0)">'
                f'<rect x="{pct(gutter)}" y="{LEGEND_TOP}" width="10" height="10" rx="2" '
                f'fill="{esc(one.fill)}"/>'
                f'<text x="{pct(gutter)}" dx="14" y="{LEGEND_TOP + 9}" font-size="{LEGEND_PX}" '
                f'fill="{INK}">{esc(one.name)}</text></g>'
            )
            offset += 14 + text_width(one.name, LEGEND_PX) + 14
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart_html(
    title: str,
    categories: Sequence[str],
    series: Sequence[BarSeries],
    *,
    height: int = 240,
    language: str = "en",
    element_id: str = "chart",
) -> Markup:
    """The chart twice, laid out for a phone and for a wider screen; app.css shows one."""
    chart = partial(bar_chart_svg, title, categories, series, height=height, language=language)
    return both_layouts(chart, element_id)
