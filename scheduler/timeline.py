"""The timeline: treatment time + protocol + zone + quiet hours -> planned reminders. No I/O.

Offsets in minutes or hours are elapsed time. Offsets in days or weeks move the calendar in
the patient's zone and keep the wall-clock time, so "14 days" after 10:00 is 10:00 even
across a DST change. A wall-clock time that does not exist (spring-forward gap) resolves to
the same instant as the moment before the gap plus the gap, i.e. one hour later on the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from messages.durations import Duration
from messages.protocol import Protocol
from messages.render import Timeline
from scheduler.quiet_hours import QuietHours


@dataclass(frozen=True)
class PlannedReminder:
    key: str
    due_at: datetime  # UTC, after quiet hours
    expires_at: datetime  # UTC; never sent after this
    milestone_at: datetime  # UTC, when the milestone itself is reached


def _require_aware(instant: datetime, name: str) -> None:
    if instant.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")


def milestone_at(treated_at: datetime, offset: Duration, zone: ZoneInfo) -> datetime:
    """The UTC instant a milestone is reached."""
    _require_aware(treated_at, "treated_at")
    if not offset.is_calendar:
        # Arithmetic on an aware local datetime is wall-clock arithmetic; elapsed needs UTC.
        return treated_at.astimezone(UTC) + offset.nominal
    local = treated_at.astimezone(zone).replace(tzinfo=None)
    wall = local + offset.nominal
    return wall.replace(tzinfo=zone).astimezone(UTC)


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


def plan(
    treated_at: datetime,
    protocol: Protocol,
    zone: ZoneInfo,
    quiet: QuietHours | None,
    registered_at: datetime,
    *,
    welcome_now: bool = False,
) -> list[PlannedReminder]:
    """The reminders to store for a treatment registered at `registered_at`.

    The welcome is due at registration (moved out of quiet hours unless the patient is
    talking to us right now, `welcome_now`); milestones already reached are not planned.
    """
    _require_aware(registered_at, "registered_at")
    registered_at = registered_at.astimezone(UTC)

    def deferred(instant: datetime) -> datetime:
        return quiet.defer(instant, zone) if quiet is not None else instant

    welcome = protocol.welcome
    welcome_due = registered_at if welcome_now else deferred(registered_at)
    planned = [
        PlannedReminder(
            welcome.key, welcome_due, welcome_due + welcome.window.nominal, registered_at
        )
    ]
    for milestone in protocol.timed:
        reached = milestone_at(treated_at, milestone.offset, zone)
        if reached <= registered_at:
            continue
        due = deferred(reached)
        planned.append(PlannedReminder(milestone.key, due, due + milestone.window.nominal, reached))
    return planned


def retry_at(
    failed_at: datetime,
    attempt: int,
    base: timedelta,
    cap: timedelta,
    zone: ZoneInfo,
    quiet: QuietHours | None,
) -> datetime:
    """Exponential backoff after the `attempt`-th failure, kept out of quiet hours."""
    delay = min(base * (2 ** max(attempt - 1, 0)), cap)
    instant = failed_at + delay
    return quiet.defer(instant, zone) if quiet is not None else instant
