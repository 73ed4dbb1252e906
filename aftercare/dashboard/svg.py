"""Small helpers for the inline SVG pictures (timeline, charts).

The pictures are drawn with percentage x positions and pixel font sizes, so text stays
readable at any width: nothing is scaled, things only move apart on a wider screen.
Layout decisions (which labels share a row, which axis labels to show) are made for the
narrowest screen we support, `NARROWEST_PX`; a wider one only adds room.
"""

from __future__ import annotations

from html import escape
from typing import Final, Protocol

from markupsafe import Markup

NARROWEST_PX: Final = 290  # a 360 px phone less page padding and card padding
WIDE_PX: Final = 640  # the narrowest card that shows the wide layout (app.css: 48rem screens)

# State colours shared with app.css (--state-*); tests keep the two equal.
STATE_COLOURS: Final = {
    "planned": "#4b5b6e",
    "sent": "#1d5fc9",
    "delivered": "#17703f",
    "failed": "#b42318",
    "expired": "#8a4b08",
    "in_doubt": "#6b3fc4",
    "cancelled": "#69727d",
}
ACCENT: Final = "#0e7470"
INK: Final = "#17212b"
MUTED: Final = "#55606d"
GRID: Final = "#dde3e8"
TICK_PX: Final = 11  # axis labels: day numbers, values, weeks


def esc(value: object) -> str:
    """Text or attribute value, escaped for XML and HTML alike."""
    return escape(str(value), quote=True)


def pct(fraction: float) -> str:
    """An x position as a percentage of the picture's width."""
    return f"{fraction * 100:.3f}".rstrip("0").rstrip(".") + "%"


def text_width(text: str, font_px: float, bold: bool = False) -> float:
    """A generous estimate of rendered text width: wide fonts (DejaVu Sans) average about
    0.55 em a glyph, 0.7 em in bold; narrower system fonts only leave more room."""
    return len(text) * font_px * (0.76 if bold else 0.62)


def responsive(narrow: Markup, wide: Markup) -> Markup:
    """Two layouts of one picture; app.css displays one (display: none also hides the
    other from screen readers)."""
    return Markup(f'<div class="svg-narrow">{narrow}</div><div class="svg-wide">{wide}</div>')


def svg_open(css_class: str, height: int, element_id: str, title: str, description: str) -> str:
    """The opening of a picture that screen readers read as one image: its title (the
    name) and description (everything the picture shows, in words)."""
    ident = esc(element_id)
    return (
        f'<svg class="{css_class}" width="100%" height="{height}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-title">{esc(title)}</title>'
        f'<desc id="{ident}-desc">{esc(description)}</desc>'
    )


def axis_label(x: str, y: float, label: object, anchor: str = "middle", dx: int = 0) -> str:
    """A label on an axis (a day, a value, a week) at x (a percentage) and y (px)."""
    shift = f' dx="{dx}"' if dx else ""
    return (
        f'<text x="{x}"{shift} y="{round(y, 1):g}" font-size="{TICK_PX}" fill="{MUTED}" '
        f'text-anchor="{anchor}">{esc(label)}</text>'
    )


class Layout(Protocol):
    """A picture drawn for one layout width, with an id of its own."""

    def __call__(self, *, element_id: str, layout_px: int) -> Markup: ...


def both_layouts(draw: Layout, element_id: str) -> Markup:
    """The picture twice, laid out for a phone and for a wider screen; app.css shows one."""
    return responsive(
        draw(element_id=f"{element_id}-narrow", layout_px=NARROWEST_PX),
        draw(element_id=f"{element_id}-wide", layout_px=WIDE_PX),
    )
