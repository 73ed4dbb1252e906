"""When each milestone of a protocol is reached for one treatment. Pure functions, no I/O.

Offsets in minutes or hours are elapsed time; days and weeks keep the wall-clock time in the
patient's zone (see `scheduler.timeline` for how reminders are planned from these instants).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from messages.durations import Duration
from messages.protocol import Protocol
from messages.render import Timeline


def require_aware(instant: datetime, name: str) -> None:
    if instant.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")


def milestone_at(treated_at: datetime, offset: Duration, zone: ZoneInfo) -> datetime:
    """The UTC instant a milestone is reached."""
    require_aware(treated_at, "treated_at")
    if not offset.is_calendar:
        # Arithmetic on an aware local datetime is wall-clock arithmetic; elapsed needs UTC.
        return treated_at.astimezone(UTC) + offset.nominal
    local = treated_at.astimezone(zone).replace(tzinfo=None)
    wall = local + offset.nominal
    return wall.replace(tzinfo=zone).astimezone(UTC)


def welcome_due(treated_at: datetime, registered_at: datetime, delay: Duration) -> datetime:
    """When the welcome is due: `delay` after a treatment registered ahead of it (a booked
    appointment, so the welcome arrives as the patient leaves), or at registration for one
    registered after it (the patient has left already)."""
    require_aware(treated_at, "treated_at")
    require_aware(registered_at, "registered_at")
    treated, registered = treated_at.astimezone(UTC), registered_at.astimezone(UTC)
    return treated + delay.nominal if treated > registered else registered


def milestone_times(
    treated_at: datetime, protocol: Protocol, zone: ZoneInfo
) -> dict[str, datetime]:
    """Each timed milestone's UTC instant, in protocol order."""
    return {m.key: milestone_at(treated_at, m.offset, zone) for m in protocol.timed}


def passed_milestones(
    treated_at: datetime, protocol: Protocol, zone: ZoneInfo, at: datetime
) -> list[str]:
    """Timed milestones already reached at `at`: the welcome then speaks of them instead."""
    return [key for key, when in milestone_times(treated_at, protocol, zone).items() if when <= at]


def welcome_timeline(
    treated_at: datetime, protocol: Protocol, zone: ZoneInfo, now: datetime
) -> Timeline:
    """What a late welcome written at `now` needs to say until when each thing is still off
    (pass it to `messages.render.render_text`)."""
    return Timeline(milestone_times(treated_at, protocol, zone), zone, now)
