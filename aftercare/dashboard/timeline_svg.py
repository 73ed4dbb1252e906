"""The recovery timeline as a picture: a pure function from milestones to inline SVG.

A horizontal line runs from the treatment (or a day before it, when a reminder goes the
day before) to the horizon (day 14). Each milestone is a marker placed at its due time,
coloured by state and labelled with its name and state in words; a dashed "now" line
shows where the patient is (none while now is before the line: a session booked further
ahead). Labels that would collide on a phone go to further rows. The picture is an image
for screen readers (role="img") whose title and description name every milestone, so
nothing depends on colour or position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import partial
from math import ceil
from typing import Final, Literal, get_args

from markupsafe import Markup

from aftercare.dashboard.strings import text
from aftercare.dashboard.svg import (
    ACCENT,
    GRID,
    INK,
    MUTED,
    NARROWEST_PX,
    STATE_COLOURS,
    axis_label,
    both_layouts,
    esc,
    pct,
    svg_open,
    text_width,
)

MilestoneState = Literal[
    "planned", "sent", "delivered", "failed", "expired", "in_doubt", "cancelled"
]
STATES: Final[tuple[MilestoneState, ...]] = get_args(MilestoneState)

LEFT, RIGHT = 0.03, 0.97  # the line's ends, as fractions of the width
LABEL_PX, STATE_PX = 13, 12
ROW_HEIGHT = 38
# A white outline under text keeps it readable where it crosses a line.
HALO = 'stroke="#ffffff" stroke-width="4" stroke-linejoin="round" paint-order="stroke"'
LABEL_GAP_PX = 10
MARKER_R = 7


@dataclass(frozen=True)
class Milestone:
    label: str
    due_at: datetime
    state: MilestoneState


@dataclass(frozen=True)
class _Placed:
    milestone: Milestone
    x: float  # fraction of the width
    anchor: str
    row: int


def when(moment: datetime, zone: tzinfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def _fraction(moment: datetime, start: datetime, horizon: timedelta) -> float:
    share = (moment - start) / horizon
    return LEFT + (RIGHT - LEFT) * min(1.0, max(0.0, share))


def _extent(x: float, width_px: float, layout_px: int) -> tuple[str, float, float]:
    """Text anchor and horizontal extent (px, at the layout width) of a label at x."""
    centre = x * layout_px
    if centre - width_px / 2 < 0:
        return "start", centre, centre + width_px
    if centre + width_px / 2 > layout_px:
        return "end", centre - width_px, centre
    return "middle", centre - width_px / 2, centre + width_px / 2


def _place(
    milestones: Sequence[Milestone],
    start: datetime,
    horizon: timedelta,
    language: str,
    layout_px: int,
) -> list[_Placed]:
    """Greedy rows: each label goes to the lowest row where it clears the previous one."""
    row_ends: list[float] = []
    placed = []
    for milestone in sorted(milestones, key=lambda m: m.due_at):
        x = _fraction(milestone.due_at, start, horizon)
        state = text(f"state.{milestone.state}", language)
        width = max(text_width(milestone.label, LABEL_PX, bold=True), text_width(state, STATE_PX))
        anchor, left, right = _extent(x, width, layout_px)
        row = next((i for i, end in enumerate(row_ends) if end + LABEL_GAP_PX <= left), None)
        if row is None:
            row = len(row_ends)
            row_ends.append(right)
        else:
            row_ends[row] = right
        placed.append(_Placed(milestone, x, anchor, row))
    return placed


def _day_step(days: int) -> int:
    return 1 if days <= 21 else 7


def timeline_svg(
    treated_at: datetime,
    now: datetime,
    milestones: Sequence[Milestone],
    *,
    horizon: timedelta = timedelta(days=14),
    zone: tzinfo = UTC,
    language: str = "en",
    element_id: str = "timeline",
    layout_px: int = NARROWEST_PX,
    lead_days: int = 0,
) -> Markup:
    """Inline SVG (safe to insert into a page as it is: every text is escaped). Labels are
    laid out so that they do not overlap at `layout_px` wide or wider. `lead_days`: the
    line starts that many days before the treatment (a reminder the day before)."""
    if horizon <= timedelta(0):
        raise ValueError("the horizon must be after the treatment")
    if lead_days < 0:
        raise ValueError("the lead is a number of days before the treatment")
    start = treated_at - timedelta(days=lead_days)
    length = horizon + timedelta(days=lead_days)
    for milestone in milestones:
        if milestone.state not in STATE_COLOURS:
            raise ValueError(f"unknown milestone state {milestone.state!r}")
    placed = _place(milestones, start, length, language, layout_px)
    rows = max((p.row for p in placed), default=-1) + 1
    axis_y = 12 + rows * ROW_HEIGHT + 14
    height = axis_y + 52
    days = ceil(horizon / timedelta(days=1))

    def t(key: str, **values: object) -> str:
        return text(key, language, **values)

    descriptions = [
        t(
            "timeline.milestone",
            label=p.milestone.label,
            state=t(f"state.{p.milestone.state}"),
            due=when(p.milestone.due_at, zone),
        )
        for p in placed
    ]
    summary = t(
        "timeline.description", treated=when(treated_at, zone), count=len(placed), days=days
    )
    now_text = t("timeline.now_at", when=when(now, zone))
    description = " ".join([summary, *(d + "." for d in descriptions), now_text])
    parts = [
        svg_open("timeline", height, element_id, t("timeline.title"), description),
        f'<line class="timeline-axis" x1="{pct(LEFT)}" x2="{pct(RIGHT)}" y1="{axis_y}" '
        f'y2="{axis_y}" stroke="{GRID}" stroke-width="4" stroke-linecap="round"/>',
    ]
    step = _day_step(days)
    for day in range(-lead_days, days + 1, step):
        x = pct(_fraction(treated_at + timedelta(days=day), start, length))
        parts.append(
            f'<line x1="{x}" x2="{x}" y1="{axis_y + 4}" y2="{axis_y + 9}" stroke="{MUTED}"/>'
            + axis_label(x, axis_y + 23, day)
        )
    if now >= start:  # a session booked further ahead: "now" is not on its line yet
        now_x = pct(_fraction(now, start, length))
        now_anchor, _, _ = _extent(_fraction(now, start, length), 40, layout_px)
        parts.append(
            f'<g class="timeline-now"><title>{esc(t("timeline.now"))}: '
            f"{esc(when(now, zone))}</title>"
            f'<line x1="{now_x}" x2="{now_x}" y1="4" y2="{axis_y + 30}" stroke="{ACCENT}" '
            f'stroke-width="2" stroke-dasharray="4 3"/>'
            f'<text x="{now_x}" y="{axis_y + 45}" font-size="{STATE_PX}" font-weight="700" '
            f'fill="{ACCENT}" text-anchor="{now_anchor}" {HALO}>{esc(t("timeline.now"))}</text></g>'
        )
    for p, milestone_text in zip(placed, descriptions, strict=True):
        parts.append(_marker(p, milestone_text, axis_y, language))
    parts.append("</svg>")
    return Markup("".join(parts))


def _marker(p: _Placed, description: str, axis_y: int, language: str) -> str:
    colour = STATE_COLOURS[p.milestone.state]
    state = text(f"state.{p.milestone.state}", language)
    x = pct(p.x)
    state_y = axis_y - 14 - p.row * ROW_HEIGHT
    label_y = state_y - STATE_PX - 2
    hollow = p.milestone.state in ("planned", "cancelled")
    fill, stroke = ("#ffffff", colour) if hollow else (colour, "#ffffff")
    return (
        f'<g class="milestone state-{p.milestone.state}"><title>{esc(description)}</title>'
        f'<line x1="{x}" x2="{x}" y1="{state_y + 4}" y2="{axis_y - MARKER_R}" '
        f'stroke="{colour}" stroke-opacity="0.45"/>'
        f'<circle cx="{x}" cy="{axis_y}" r="{MARKER_R}" fill="{fill}" stroke="{stroke}" '
        f'stroke-width="2.5"/>'
        f'<text x="{x}" y="{label_y}" font-size="{LABEL_PX}" font-weight="650" fill="{INK}" '
        f'text-anchor="{p.anchor}" {HALO}>{esc(p.milestone.label)}</text>'
        f'<text x="{x}" y="{state_y}" font-size="{STATE_PX}" fill="{colour}" '
        f'text-anchor="{p.anchor}" {HALO}>{esc(state)}</text>'
        "</g>"
    )


def timeline_html(
    treated_at: datetime,
    now: datetime,
    milestones: Sequence[Milestone],
    *,
    horizon: timedelta = timedelta(days=14),
    zone: tzinfo = UTC,
    language: str = "en",
    element_id: str = "timeline",
    lead_days: int = 0,
) -> Markup:
    """The picture twice, laid out for a phone and for a wider screen; app.css shows one."""
    picture = partial(
        timeline_svg,
        treated_at,
        now,
        milestones,
        horizon=horizon,
        zone=zone,
        language=language,
        lead_days=lead_days,
    )
    return both_layouts(picture, element_id)
