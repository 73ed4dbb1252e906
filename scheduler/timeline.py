"""The timeline: treatment time + protocol + zone + quiet hours -> planned reminders. No I/O.

Offsets in minutes or hours are elapsed time. Offsets in days or weeks move the calendar in
the patient's zone and keep the wall-clock time, so "14 days" after 10:00 is 10:00 even
across a DST change. A wall-clock time that does not exist (spring-forward gap) resolves to
the same instant as the moment before the gap plus the gap, i.e. one hour later on the clock.

Milestones before the treatment (a "see you tomorrow" the day before a booked appointment)
are planned only when asked for (`before`: the clinic turned them on) and only while still
ahead; quiet hours move them within their own day, never into the treatment's day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from messages.milestones import milestone_at, require_aware, welcome_due
from messages.protocol import Protocol
from scheduler.quiet_hours import QuietHours


@dataclass(frozen=True)
class PlannedReminder:
    key: str
    due_at: datetime  # UTC, after quiet hours
    expires_at: datetime  # UTC; never sent after this
    milestone_at: datetime  # UTC, when the milestone itself is reached


def plan(
    treated_at: datetime,
    protocol: Protocol,
    zone: ZoneInfo,
    quiet: QuietHours | None,
    registered_at: datetime,
    *,
    welcome_now: bool = False,
    before: bool = False,
) -> list[PlannedReminder]:
    """The reminders to store for a treatment registered at `registered_at`.

    The welcome is due at registration (moved out of quiet hours unless the patient is
    talking to us right now, `welcome_now`); milestones already reached are not planned.
    A treatment registered ahead (an appointment) gets its welcome at the treatment time
    plus the protocol's `welcome_delay`; before it, only the protocol's milestones before
    the treatment, with `before` (listed last), and only those still ahead.
    """
    require_aware(registered_at, "registered_at")
    registered_at = registered_at.astimezone(UTC)

    def deferred(instant: datetime) -> datetime:
        return quiet.defer(instant, zone) if quiet is not None else instant

    welcome = protocol.welcome
    welcome_at = welcome_due(treated_at, registered_at, protocol.welcome_delay)
    ahead = welcome_at > registered_at
    due = registered_at if welcome_now and not ahead else deferred(welcome_at)
    planned = [PlannedReminder(welcome.key, due, due + welcome.window.nominal, welcome_at)]
    for milestone in protocol.timed:
        reached = milestone_at(treated_at, milestone.offset, zone)
        if reached <= registered_at:
            continue
        due = deferred(reached)
        planned.append(PlannedReminder(milestone.key, due, due + milestone.window.nominal, reached))
    if before:
        planned += plan_before(treated_at, protocol, zone, quiet, registered_at)
    return planned


def plan_before(
    treated_at: datetime,
    protocol: Protocol,
    zone: ZoneInfo,
    quiet: QuietHours | None,
    registered_at: datetime,
) -> list[PlannedReminder]:
    """The protocol's milestones before the treatment still ahead at `registered_at`.

    One in quiet hours goes out at their end on its own local date (earlier, for an evening
    one), so "tomorrow" stays true; each expires at the treatment at the latest, and one
    that would not be due before the treatment is left out. A past treatment gets none."""
    treated = treated_at.astimezone(UTC)
    planned = []
    for milestone in protocol.before:
        reached = milestone_at(treated_at, milestone.offset, zone)
        due = quiet.within_day(reached, zone) if quiet is not None else reached
        if due <= registered_at or due >= treated:
            continue
        expires = min(due + milestone.window.nominal, treated)
        planned.append(PlannedReminder(milestone.key, due, expires, reached))
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
