"""Treatments booked ahead: nothing before the appointment, the welcome as the patient leaves."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from messages.durations import Duration
from messages.milestones import milestone_at, welcome_due
from messages.protocol_files import load_protocol
from scheduler.quiet_hours import QuietHours
from scheduler.timeline import plan

PROTOCOL = load_protocol()
QUIET = QuietHours(time(21), time(8))
NEW_YORK = ZoneInfo("America/New_York")
MORNING = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # 07:00 in New York: the export is made


def test_a_booked_appointment_gets_its_welcome_an_hour_after_the_treatment() -> None:
    treated = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 10:00 local, booked this morning
    planned = plan(treated, PROTOCOL, NEW_YORK, QUIET, MORNING)

    assert PROTOCOL.welcome_delay == Duration.parse("1h")
    welcome = planned[0]
    assert welcome.key == "welcome"
    assert welcome.due_at == treated + timedelta(hours=1)
    assert welcome.milestone_at == treated + timedelta(hours=1)
    assert all(p.due_at >= treated for p in planned), "nothing is sent before the treatment"
    # Every milestone is ahead of an appointment: the whole plan is made.
    assert [p.key for p in planned] == ["welcome"] + [m.key for m in PROTOCOL.timed]
    for p, m in zip(planned[1:], PROTOCOL.timed, strict=True):
        assert p.milestone_at == milestone_at(treated, m.offset, NEW_YORK)


def test_a_late_evening_appointment_waits_for_the_morning() -> None:
    treated = datetime(2026, 3, 3, 1, 30, tzinfo=UTC)  # 20:30 local: welcome at 21:30, quiet
    planned = plan(treated, PROTOCOL, NEW_YORK, QUIET, MORNING)
    assert planned[0].due_at == datetime(2026, 3, 3, 13, 0, tzinfo=UTC)  # 08:00 local


def test_a_treatment_registered_afterwards_still_gets_its_welcome_at_registration() -> None:
    treated = MORNING - timedelta(minutes=10)
    assert welcome_due(treated, MORNING, PROTOCOL.welcome_delay) == MORNING
    assert plan(treated, PROTOCOL, NEW_YORK, None, MORNING)[0].due_at == MORNING


def test_the_protocol_can_change_the_welcome_delay() -> None:
    quick = PROTOCOL.model_copy(update={"welcome_delay": Duration.parse("30m")})
    treated = MORNING + timedelta(days=3)
    assert plan(treated, quick, NEW_YORK, None, MORNING)[0].due_at == treated + timedelta(
        minutes=30
    )
