"""The timeline: elapsed hours, calendar days, quiet hours, DST, and what is already past."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from messages.milestones import milestone_at, passed_milestones
from messages.protocol import Protocol
from messages.protocol_files import load_protocol
from scheduler.quiet_hours import QuietHours
from scheduler.timeline import PlannedReminder, plan

PROTOCOL = load_protocol()
QUIET = QuietHours(time(21), time(8))
NEW_YORK = ZoneInfo("America/New_York")
MADRID = ZoneInfo("Europe/Madrid")
ZONES = sorted(
    z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))
)


def local(zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def due(planned: list[PlannedReminder], key: str) -> datetime:
    return next(p.due_at for p in planned if p.key == key)


def test_protocol_milestones_are_the_four_of_the_design_and_two_check_ins() -> None:
    offsets = {m.key: str(m.offset) for m in PROTOCOL.advice}
    assert offsets == {"makeup": "24h", "sweat": "48h", "cleanser": "72h", "sunscreen": "14d"}
    checkins = {key: str(PROTOCOL.milestone(key).offset) for key in PROTOCOL.checkins}
    assert checkins == {"checkin_24h": "24h", "checkin_72h": "72h"}


class TestNamedDstDays:
    def test_hours_are_elapsed_across_the_us_spring_forward(self) -> None:
        treated = local(NEW_YORK, 2026, 3, 7, 10, 0)  # EST, the day before the switch
        planned = plan(treated, PROTOCOL, NEW_YORK, None, treated)
        assert due(planned, "makeup").astimezone(NEW_YORK) == local(NEW_YORK, 2026, 3, 8, 11, 0)
        assert due(planned, "makeup") - treated == timedelta(hours=24)

    def test_days_keep_the_wall_clock_across_the_us_spring_forward(self) -> None:
        treated = local(NEW_YORK, 2026, 3, 7, 10, 0)
        sunscreen = due(plan(treated, PROTOCOL, NEW_YORK, None, treated), "sunscreen")
        assert sunscreen.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2026, 3, 21, 10, 0)
        assert sunscreen - treated == timedelta(days=14, hours=-1)

    def test_hours_are_elapsed_across_the_us_fall_back(self) -> None:
        treated = local(NEW_YORK, 2026, 10, 31, 14, 0)  # EDT
        makeup = due(plan(treated, PROTOCOL, NEW_YORK, None, treated), "makeup")
        assert makeup.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2026, 11, 1, 13, 0)

    def test_days_keep_the_wall_clock_across_the_eu_fall_back(self) -> None:
        treated = local(MADRID, 2026, 10, 20, 9, 30)  # CEST
        sunscreen = due(plan(treated, PROTOCOL, MADRID, None, treated), "sunscreen")
        assert sunscreen.astimezone(MADRID).replace(tzinfo=None) == datetime(2026, 11, 3, 9, 30)
        assert sunscreen.astimezone(MADRID).utcoffset() == timedelta(hours=1)

    def test_hours_are_elapsed_across_the_eu_spring_forward(self) -> None:
        treated = local(MADRID, 2026, 3, 28, 12, 0)  # CET
        makeup = due(plan(treated, PROTOCOL, MADRID, None, treated), "makeup")
        assert makeup.astimezone(MADRID).replace(tzinfo=None) == datetime(2026, 3, 29, 13, 0)

    def test_a_calendar_day_landing_in_the_spring_gap_moves_forward_by_the_gap(self) -> None:
        treated = local(NEW_YORK, 2026, 2, 22, 2, 30)  # 14 days later, 02:30 does not exist
        reached = milestone_at(treated, PROTOCOL.milestone("sunscreen").offset, NEW_YORK)
        assert reached.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2026, 3, 8, 3, 30)

    def test_quiet_hours_defer_to_the_end_of_the_window_on_the_night_of_the_switch(self) -> None:
        treated = local(NEW_YORK, 2026, 3, 7, 23, 0)  # 24 h later is 00:00 EDT
        makeup = due(plan(treated, PROTOCOL, NEW_YORK, QUIET, treated), "makeup")
        assert makeup.astimezone(NEW_YORK) == local(NEW_YORK, 2026, 3, 9, 8, 0)


class TestQuietHoursAndRegistration:
    def test_an_evening_treatment_is_reminded_the_next_morning_not_at_night(self) -> None:
        treated = local(MADRID, 2026, 5, 4, 22, 30)
        planned = plan(treated, PROTOCOL, MADRID, QUIET, treated)
        assert due(planned, "welcome").astimezone(MADRID) == local(MADRID, 2026, 5, 5, 8, 0)
        assert due(planned, "makeup").astimezone(MADRID) == local(MADRID, 2026, 5, 6, 8, 0)

    def test_a_patient_chatting_now_gets_the_welcome_now_even_at_night(self) -> None:
        treated = local(MADRID, 2026, 5, 4, 22, 30)
        planned = plan(treated, PROTOCOL, MADRID, QUIET, treated, welcome_now=True)
        assert due(planned, "welcome") == treated

    def test_milestones_already_past_are_not_scheduled_and_the_welcome_lists_them(self) -> None:
        treated = local(NEW_YORK, 2026, 3, 2, 9, 0)
        registered = treated + timedelta(hours=50)
        planned = plan(treated, PROTOCOL, NEW_YORK, None, registered)
        assert [p.key for p in planned] == ["welcome", "cleanser", "checkin_72h", "sunscreen"]
        assert passed_milestones(treated, PROTOCOL, NEW_YORK, registered) == [
            "makeup",
            "checkin_24h",
            "sweat",
        ]

    def test_a_window_runs_from_the_deferred_due_time(self) -> None:
        treated = local(NEW_YORK, 2026, 5, 4, 22, 0)
        makeup = next(
            p for p in plan(treated, PROTOCOL, NEW_YORK, QUIET, treated) if p.key == "makeup"
        )
        assert makeup.expires_at - makeup.due_at == PROTOCOL.milestone("makeup").window.nominal

    def test_naive_times_are_refused(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            plan(datetime(2026, 5, 4, 10), PROTOCOL, NEW_YORK, None, datetime.now(UTC))


instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(zone_name=st.sampled_from(ZONES), treated=instants, delay_hours=st.floats(0, 400))
def test_every_plan_respects_the_rules_in_any_zone(
    zone_name: str, treated: datetime, delay_hours: float
) -> None:
    zone = ZoneInfo(zone_name)
    registered = treated + timedelta(hours=delay_hours)
    planned = plan(treated, PROTOCOL, zone, QUIET, registered)
    keys = [p.key for p in planned]
    assert keys[0] == "welcome"
    assert len(set(keys)) == len(keys)
    for item in planned:
        assert item.due_at.tzinfo is not None
        assert item.due_at >= item.milestone_at
        assert item.expires_at > item.due_at
        # Never inside quiet hours, and never deferred past the quiet window (+1 h for DST).
        assert not QUIET.contains(item.due_at.astimezone(zone).time())
        assert item.due_at - item.milestone_at <= timedelta(hours=12)
    for milestone in PROTOCOL.timed:
        reached = milestone_at(treated, milestone.offset, zone)
        assert (milestone.key in keys) == (reached > registered)


@settings(max_examples=300, deadline=None)
@given(zone_name=st.sampled_from(ZONES), treated=instants)
def test_hours_are_elapsed_and_days_keep_the_local_wall_clock(
    zone_name: str, treated: datetime
) -> None:
    zone = ZoneInfo(zone_name)
    for milestone in PROTOCOL.timed:
        reached = milestone_at(treated, milestone.offset, zone)
        if not milestone.offset.is_calendar:
            assert reached - treated == milestone.offset.nominal
            continue
        start, end = treated.astimezone(zone), reached.astimezone(zone)
        assert end.date() - start.date() == milestone.offset.nominal
        wall_start = start.replace(tzinfo=None)
        wall_end = end.replace(tzinfo=None)
        drift = (wall_end - wall_start) - milestone.offset.nominal
        # Equal wall-clock time, unless it fell into a DST gap and moved forward by it.
        assert timedelta(0) <= drift <= timedelta(hours=2)
        if drift:
            gap_probe = (wall_start + milestone.offset.nominal).replace(tzinfo=zone)
            assert (
                gap_probe.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
                != wall_start + milestone.offset.nominal
            )


def test_protocol_type_is_loaded_once() -> None:
    assert isinstance(PROTOCOL, Protocol)
