"""Quiet hours: a daily local-time window in which no reminder is sent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """`"21:00-08:00"`; `""` or `"off"` means no quiet hours."""
        if text.strip().lower() in ("", "off", "none"):
            return None
        match = _WINDOW.match(text)
        if not match:
            raise ValueError(f"expected HH:MM-HH:MM (for example 21:00-08:00), got {text!r}")
        h1, m1, h2, m2 = (int(group) for group in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValueError(f"hours must be 00-23 and minutes 00-59, got {text!r}")
        if (h1, m1) == (h2, m2):
            raise ValueError(f"start and end are the same, got {text!r}")
        return cls(time(h1, m1), time(h2, m2))

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def contains(self, local: time) -> bool:
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def defer(self, instant: datetime, zone: tzinfo) -> datetime:
        """The instant itself if outside quiet hours, else the end of the window (UTC)."""
        local = instant.astimezone(zone)
        if not self.contains(local.time().replace(tzinfo=None)):
            return instant
        end_day: date = local.date()
        if self.start > self.end and local.time() >= self.start:
            end_day += timedelta(days=1)
        # Wall-clock end of the window; a DST gap at that hour resolves forward via UTC.
        end = datetime.combine(end_day, self.end, tzinfo=zone)
        return end.astimezone(instant.tzinfo)

    def within_day(self, instant: datetime, zone: tzinfo) -> datetime:
        """The instant itself if outside quiet hours, else the end of the window on the same
        local date: later in the morning part of a window that spans midnight, earlier in its
        evening part. For a text about "tomorrow", which must not slip into the next day."""
        local = instant.astimezone(zone)
        if not self.contains(local.time().replace(tzinfo=None)):
            return instant
        end = datetime.combine(local.date(), self.end, tzinfo=zone)
        return end.astimezone(instant.tzinfo)
