"""The day-before reminder on the timeline: only when the clinic wants it, the day before at
the appointment's own local time (quiet hours keep it on that day), and never after the
treatment or for a treatment already behind the patient."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from messages.protocol import DAY_BEFORE
from messages.protocol_files import load_protocol
from scheduler.quiet_hours import QuietHours
from scheduler.timeline import PlannedReminder, plan

PROTOCOL = load_protocol()
QUIET = QuietHours(time(21), time(8))
NEW_YORK = ZoneInfo("America/New_York")
MADRID = ZoneInfo("Europe/Madrid")


def local(zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def day_before(planned: list[PlannedReminder]) -> PlannedReminder | None:
    found = [p for p in planned if p.key == DAY_BEFORE]
    assert len(found) <= 1
    return found[0] if found else None


def test_a_clinic_that_has_not_turned_it_on_gets_no_day_before_reminder() -> None:
    treated = local(NEW_YORK, 2026, 3, 12, 10, 0)
    registered = local(NEW_YORK, 2026, 3, 2, 7, 0)
    assert day_before(plan(treated, PROTOCOL, NEW_YORK, QUIET, registered)) is None


def test_it_comes_the_day_before_at_the_appointments_local_time() -> None:
    treated = local(NEW_YORK, 2026, 3, 5, 10, 30)
    registered = local(NEW_YORK, 2026, 3, 2, 7, 0)
    planned = plan(treated, PROTOCOL, NEW_YORK, QUIET, registered, before=True)

    reminder = day_before(planned)
    assert reminder is not None
    assert reminder.due_at == reminder.milestone_at == local(NEW_YORK, 2026, 3, 4, 10, 30)
    # Sent late at most 12 hours (the protocol's window), never after the treatment.
    assert reminder.expires_at == local(NEW_YORK, 2026, 3, 4, 22, 30)
    # The aftercare plan itself is the same with or without it.
    without = plan(treated, PROTOCOL, NEW_YORK, QUIET, registered)
    assert [p for p in planned if p.key != DAY_BEFORE] == without


def test_across_a_dst_change_it_keeps_the_wall_clock_time() -> None:
    # New York springs forward early on Sunday 8 March 2026: from Saturday 09:00 to Sunday
    # 09:00 is 23 hours.
    treated = local(NEW_YORK, 2026, 3, 8, 9, 0)
    reminder = day_before(
        plan(treated, PROTOCOL, NEW_YORK, QUIET, local(NEW_YORK, 2026, 3, 2, 7, 0), before=True)
    )
    assert reminder is not None
    assert reminder.due_at.astimezone(NEW_YORK) == local(NEW_YORK, 2026, 3, 7, 9, 0)
    assert treated - reminder.due_at == timedelta(hours=23)
    # Madrid falls back early on Sunday 25 October 2026: Saturday 11:00 to Sunday 11:00 is
    # 25 hours.
    treated = local(MADRID, 2026, 10, 25, 11, 0)
    reminder = day_before(
        plan(treated, PROTOCOL, MADRID, QUIET, local(MADRID, 2026, 10, 20, 9, 0), before=True)
    )
    assert reminder is not None
    assert reminder.due_at.astimezone(MADRID) == local(MADRID, 2026, 10, 24, 11, 0)
    assert treated - reminder.due_at == timedelta(hours=25)


def test_an_early_appointment_is_reminded_when_quiet_hours_end_the_day_before() -> None:
    treated = local(NEW_YORK, 2026, 3, 5, 7, 0)  # 07:00 the day before is quiet
    reminder = day_before(
        plan(treated, PROTOCOL, NEW_YORK, QUIET, local(NEW_YORK, 2026, 3, 2, 7, 0), before=True)
    )
    assert reminder is not None
    assert reminder.due_at == local(NEW_YORK, 2026, 3, 4, 8, 0)


def test_a_late_appointment_is_reminded_that_morning_not_on_the_day_itself() -> None:
    # 22:30 the day before is quiet; waiting for the end would be the treatment's own day.
    treated = local(NEW_YORK, 2026, 3, 5, 22, 30)
    reminder = day_before(
        plan(treated, PROTOCOL, NEW_YORK, QUIET, local(NEW_YORK, 2026, 3, 2, 7, 0), before=True)
    )
    assert reminder is not None
    assert reminder.due_at == local(NEW_YORK, 2026, 3, 4, 8, 0)
    assert reminder.milestone_at == local(NEW_YORK, 2026, 3, 4, 22, 30)


def test_it_is_not_planned_once_its_time_has_passed() -> None:
    # Booked this morning for tomorrow 09:00: the day-before moment (09:00 today) is behind.
    registered = local(NEW_YORK, 2026, 3, 4, 11, 0)
    treated = local(NEW_YORK, 2026, 3, 5, 9, 0)
    assert day_before(plan(treated, PROTOCOL, NEW_YORK, QUIET, registered, before=True)) is None
    # An hour earlier it was still ahead.
    earlier = registered - timedelta(hours=3)
    assert day_before(plan(treated, PROTOCOL, NEW_YORK, QUIET, earlier, before=True)) is not None


def test_a_treatment_already_behind_the_patient_never_gets_it() -> None:
    # A patient who registers after the treatment (Telegram self-registration, a late import).
    now = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
    for ago in (timedelta(minutes=10), timedelta(hours=20), timedelta(days=3)):
        planned = plan(now - ago, PROTOCOL, NEW_YORK, QUIET, now, before=True, welcome_now=True)
        assert day_before(planned) is None


def test_without_quiet_hours_a_night_appointment_keeps_its_own_time() -> None:
    treated = local(NEW_YORK, 2026, 3, 5, 22, 30)
    reminder = day_before(
        plan(treated, PROTOCOL, NEW_YORK, None, local(NEW_YORK, 2026, 3, 2, 7, 0), before=True)
    )
    assert reminder is not None
    assert reminder.due_at == local(NEW_YORK, 2026, 3, 4, 22, 30)
    assert reminder.expires_at == local(NEW_YORK, 2026, 3, 5, 10, 30)


class TestQuietHoursWithinTheDay:
    def test_an_instant_outside_quiet_hours_stays(self) -> None:
        instant = local(MADRID, 2026, 6, 1, 12, 0)
        assert QUIET.within_day(instant, MADRID) == instant

    def test_the_morning_part_moves_later_and_the_evening_part_earlier_on_the_same_date(
        self,
    ) -> None:
        assert QUIET.within_day(local(MADRID, 2026, 6, 1, 6, 0), MADRID) == local(
            MADRID, 2026, 6, 1, 8, 0
        )
        assert QUIET.within_day(local(MADRID, 2026, 6, 1, 23, 0), MADRID) == local(
            MADRID, 2026, 6, 1, 8, 0
        )

    def test_a_window_within_one_day_moves_to_its_end(self) -> None:
        siesta = QuietHours(time(14), time(16))
        assert siesta.within_day(local(MADRID, 2026, 6, 1, 15, 0), MADRID) == local(
            MADRID, 2026, 6, 1, 16, 0
        )
