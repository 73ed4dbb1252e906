"""Statistics as the page shows them: summary figures, bar charts (inline SVG), one table
of every number, and the same numbers as CSV lines. Pure: no I/O."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup

from aftercare.dashboard.bar_chart_svg import BarSeries, bar_chart_html
from aftercare.dashboard.stats_period import Period, long_label, short_label
from aftercare.dashboard.strings import EN, text
from aftercare.dashboard.svg import ACCENT
from clinic.csv_rows import escape_formula
from storage.stats import ClinicStats

CATEGORY_COLOURS: Final = {"emergency": "failed", "red_flag": "expired"}
OTHER_CATEGORY_COLOURS: Final = ("in_doubt", "sent", "planned", "cancelled")
# Telegram reports no delivery: its charts and rows leave "delivered" out.
SHOWN_OUTCOMES: Final = {
    "sms": ("sent", "delivered", "failed", "expired"),
    "telegram": ("sent", "failed", "expired"),
}


def category_label(category: str) -> str:
    key = f"category.{category}"
    return text(key) if key in EN else category.replace("_", " ").capitalize()


def duration(seconds: float | None) -> str:
    """`under 1 min`, `25 min`, `2 h 5 min`, `3 d 4 h`; `—` for none."""
    if seconds is None:
        return "—"
    minutes = int(seconds // 60)
    if minutes < 1:
        return text("stats.duration.under_minute")
    if minutes < 60:
        return text("stats.duration.minutes", m=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        if minutes == 0:
            return text("stats.duration.hours_only", h=hours)
        return text("stats.duration.hours", h=hours, m=minutes)
    days, hours = divmod(hours, 24)
    return text("stats.duration.days", d=days, h=hours)


def number(value: int) -> str:
    return f"{value:,}"


@dataclass(frozen=True)
class Row:
    label: str
    cells: list[str]
    total: str


@dataclass(frozen=True)
class Group:
    title: str
    rows: list[Row]


@dataclass(frozen=True)
class Chart:
    ident: str
    title: str
    total: str
    svg: Markup


@dataclass(frozen=True)
class Summary:
    label: str
    value: str
    note: str = ""


def _count_row(label: str, counts: Sequence[int]) -> Row:
    return Row(label, [number(c) for c in counts], number(sum(counts)))


def _colours(categories: Sequence[str]) -> dict[str, str]:
    others = iter(OTHER_CATEGORY_COLOURS * (1 + len(categories)))
    return {c: CATEGORY_COLOURS.get(c) or next(others) for c in categories}


def summaries(stats: ClinicStats) -> list[Summary]:
    sms_sent = sum(stats.reminders[("sms", "sent")])
    sms_delivered = sum(stats.reminders[("sms", "delivered")])
    sent = sum(sum(stats.reminders[(channel, "sent")]) for channel in SHOWN_OUTCOMES)
    escalations = sum(sum(counts) for counts in stats.escalations.values())
    answered = sum(len(waits) for waits in stats.reply_seconds)
    median = stats.median_reply()
    return [
        Summary(text("stats.card.enrolled"), number(sum(stats.enrolled))),
        Summary(
            text("stats.card.sent"),
            number(sent),
            text("stats.card.sms_delivered", percent=round(100 * sms_delivered / sms_sent))
            if sms_sent
            else "",
        ),
        Summary(text("stats.card.escalations"), number(escalations)),
        Summary(
            text("stats.card.reply"),
            duration(median) if median is not None else text("stats.no_replies"),
            text("stats.answered_of", answered=answered, total=answered + sum(stats.unanswered))
            if answered
            else "",
        ),
    ]


def charts(stats: ClinicStats, period: Period) -> list[Chart]:
    labels = [short_label(day) for day in period.days[:-1]]

    def chart(ident: str, title: str, series: list[BarSeries], total: int) -> Chart:
        svg = bar_chart_html(title, labels, series, element_id=f"chart-{ident}")
        return Chart(ident, title, text("stats.chart_total", total=number(total)), svg)

    made = [
        chart(
            "enrolled",
            text("stats.chart.enrolled"),
            [BarSeries(text("stats.enrolled"), stats.enrolled, ACCENT)],
            sum(stats.enrolled),
        )
    ]
    for channel, outcomes in SHOWN_OUTCOMES.items():
        made.append(
            chart(
                channel,
                text(f"stats.chart.{channel}"),
                [BarSeries(text(f"stats.{o}"), stats.reminders[(channel, o)], o) for o in outcomes],
                sum(stats.reminders[(channel, "sent")]),
            )
        )
    made.append(
        chart(
            "segments",
            text("stats.chart.segments"),
            [BarSeries(text("stats.segments"), stats.sms_segments, ACCENT)],
            sum(stats.sms_segments),
        )
    )
    colours = _colours(list(stats.escalations))
    made.append(
        chart(
            "escalations",
            text("stats.chart.escalations"),
            [
                BarSeries(category_label(c), counts, colours[c])
                for c, counts in stats.escalations.items()
            ]
            or [BarSeries(text("stats.card.escalations"), [0] * stats.buckets, "failed")],
            sum(sum(counts) for counts in stats.escalations.values()),
        )
    )
    made.append(
        chart(
            "opt-outs",
            text("stats.chart.opt_outs"),
            [BarSeries(text("stats.opt_outs"), stats.opt_outs, "cancelled")],
            sum(stats.opt_outs),
        )
    )
    return made


def table(stats: ClinicStats, period: Period) -> tuple[list[dict[str, str]], list[Group]]:
    """Columns (one per bucket) and groups of rows, each row a measure."""
    columns = [
        {"short": short_label(start), "long": long_label(start, end, period.by)}
        for start, end in zip(period.days, period.days[1:], strict=False)
    ]
    groups = [
        Group(
            text("stats.group.patients"),
            [
                _count_row(text("stats.enrolled"), stats.enrolled),
                _count_row(text("stats.opt_outs"), stats.opt_outs),
            ],
        )
    ]
    for channel, outcomes in SHOWN_OUTCOMES.items():
        rows = [_count_row(text(f"stats.{o}"), stats.reminders[(channel, o)]) for o in outcomes]
        if channel == "sms":
            rows.append(_count_row(text("stats.segments"), stats.sms_segments))
        groups.append(Group(text(f"stats.chart.{channel}"), rows))
    escalation_rows = [
        _count_row(category_label(c), counts) for c, counts in stats.escalations.items()
    ]
    answered = [len(waits) for waits in stats.reply_seconds]
    escalation_rows.append(_count_row(text("stats.answered"), answered))
    escalation_rows.append(
        Row(
            text("stats.median_reply"),
            [duration(stats.median_reply(i)) for i in range(stats.buckets)],
            duration(stats.median_reply()),
        )
    )
    groups.append(Group(text("stats.group.escalations"), escalation_rows))
    return columns, groups


def csv_lines(stats: ClinicStats, period: Period) -> Iterator[str]:
    """One line per bucket, one column per measure (a spreadsheet's natural shape)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: Sequence[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([escape_formula(str(cell)) for cell in cells])
        return buffer.getvalue()

    categories = list(stats.escalations)
    measures = [
        (f"{channel}_{outcome}", stats.reminders[(channel, outcome)])
        for channel, outcomes in SHOWN_OUTCOMES.items()
        for outcome in outcomes
    ]
    yield line(
        [
            "period_start",
            "period_end",
            "enrolled",
            *(name for name, _ in measures),
            "sms_segments",
            "sms_opt_outs",
            *(f"escalations_{c}" for c in categories),
            "escalations_answered",
            "median_minutes_to_first_reply",
        ]
    )
    for i, (start, end) in enumerate(zip(period.days, period.days[1:], strict=False)):
        median = stats.median_reply(i)
        yield line(
            [
                start.isoformat(),
                end.isoformat(),
                stats.enrolled[i],
                *(counts[i] for _, counts in measures),
                stats.sms_segments[i],
                stats.opt_outs[i],
                *(stats.escalations[c][i] for c in categories),
                len(stats.reply_seconds[i]),
                "" if median is None else f"{median / 60:.1f}",
            ]
        )
