"""The period a statistics page covers, read from its query string. Pure: no I/O.

`?from=YYYY-MM-DD&to=YYYY-MM-DD&by=week|day`, every part optional. By default: the last
8 weeks by week, this one included. Weeks start on Monday; each bucket starts at local
midnight in the clinic's zone (so a week across a DST change is 167 or 169 hours long).
A week bucket always covers its whole week, even when `from` or `to` falls inside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

Grouping = Literal["week", "day"]
DEFAULT_WEEKS: Final = 8
DEFAULT_DAYS: Final = 28
MAX_BUCKETS: Final[dict[str, int]] = {"week": 53, "day": 92}


@dataclass(frozen=True)
class Period:
    first: date  # the first bucket's first day
    last: date  # the last day shown (today at the latest)
    by: Grouping
    days: list[date]  # each bucket's first day, and the day after the last bucket
    bounds: list[datetime]  # the same days' local midnights, as UTC instants
    problems: list[tuple[str, dict[str, object]]] = field(default_factory=list)  # notices

    @property
    def buckets(self) -> int:
        return len(self.days) - 1

    def as_params(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat(), "by": self.by}


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def preset_start(today: date, by: Grouping, count: int) -> date:
    """The first day of the last `count` weeks (this one included) or days."""
    if by == "week":
        return monday_of(today) - timedelta(weeks=count - 1)
    return today - timedelta(days=count - 1)


def _day(value: str, name: str, problems: list[tuple[str, dict[str, object]]]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(("stats.bad_date", {"field": name, "value": value[:40]}))
        return None


def read_period(params: Mapping[str, str], today: date, zone: ZoneInfo) -> Period:
    """The period the query asks for, made sensible: dates swapped when reversed, nothing
    after today, at most MAX_BUCKETS buckets (the earliest dropped, with a notice)."""
    problems: list[tuple[str, dict[str, object]]] = []
    by: Grouping = "day" if params.get("by") == "day" else "week"
    last = _day(params.get("to", ""), "to", problems) or today
    first = _day(params.get("from", ""), "from", problems)
    if first is not None and first > last:
        first, last = last, first
    last = min(last, today)
    if first is None:
        first = preset_start(last, by, DEFAULT_WEEKS if by == "week" else DEFAULT_DAYS)
    first = min(first, last)
    if by == "week":
        start, end = monday_of(first), monday_of(last) + timedelta(weeks=1)
        step = timedelta(weeks=1)
    else:
        start, end = first, last + timedelta(days=1)
        step = timedelta(days=1)
    count = (end - start) // step
    limit = MAX_BUCKETS[by]
    if count > limit:
        start = end - step * limit
        count = limit
        problems.append((f"stats.too_long.{by}", {"count": limit}))
    days = [start + step * i for i in range(count + 1)]
    return Period(
        start,
        last,
        by,
        days,
        [local_midnight(day, zone) for day in days],
        problems,
    )


def short_label(day: date) -> str:
    """`16 Feb`: a bucket's name on a chart axis."""
    return f"{day.day} {day:%b}"


def long_label(start: date, end: date, by: Grouping) -> str:
    """`16–22 Feb 2026` for a week (`28 Dec 2026 – 3 Jan 2027` across years), `16 Feb
    2026` for a day. `end` is the day after the bucket."""
    if by == "day":
        return f"{start.day} {start:%b %Y}"
    last = end - timedelta(days=1)
    if start.year != last.year:
        return f"{start.day} {start:%b %Y} – {last.day} {last:%b %Y}"
    if start.month != last.month:
        return f"{start.day} {start:%b} – {last.day} {last:%b %Y}"
    return f"{start.day}–{last.day} {last:%b %Y}"
