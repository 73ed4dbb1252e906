"""The typed treatment time, read as patients write it, in English and Spanish."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.telegram.timeparse import TimeParseError, TypedTime, parse_typed_time, time_problem

NOW = datetime(2026, 3, 4, 16, 20)  # Wednesday, local wall clock
TODAY, YESTERDAY = date(2026, 3, 4), date(2026, 3, 3)


@pytest.mark.parametrize(
    ("typed", "day", "at"),
    [
        ("today 2pm", TODAY, time(14)),
        ("Today 2 PM", TODAY, time(14)),
        ("yesterday 15:30", YESTERDAY, time(15, 30)),
        ("21/11 14:00", date(2025, 11, 21), time(14)),  # no year, not ahead: last year
        ("1/3 9:05", date(2026, 3, 1), time(9, 5)),
        ("01.03.2026 9:00", date(2026, 3, 1), time(9)),
        ("2026-03-01 09:00", date(2026, 3, 1), time(9)),
        ("2:30 p.m.", TODAY, time(14, 30)),
        ("14.30", TODAY, time(14, 30)),
        ("at noon", TODAY, time(12)),
        ("monday 10am", date(2026, 3, 2), time(10)),
        ("march 2 at 10am", date(2026, 3, 2), time(10)),
        ("3 days ago 11:00", date(2026, 3, 1), time(11)),
        ("the day before yesterday 9am", date(2026, 3, 2), time(9)),
        ("2 hours ago", TODAY, time(14, 20)),
        ("now", TODAY, time(16, 20)),
        # Spanish
        ("hoy 14:00", TODAY, time(14)),
        ("hoy a las 3 de la tarde", TODAY, time(15)),
        ("hoy a las 9 de la mañana", TODAY, time(9)),
        ("ayer 9:15", YESTERDAY, time(9, 15)),
        ("ayer a las 7 de la tarde", YESTERDAY, time(19)),
        ("anteayer 18h", date(2026, 3, 2), time(18)),
        ("el lunes a las 10", date(2026, 3, 2), time(10)),
        ("2 de marzo 10:00", date(2026, 3, 2), time(10)),
        ("miércoles 8:00", TODAY, time(8)),
        ("hace 3 días a las 11", date(2026, 3, 1), time(11)),
        ("hace 2 horas", TODAY, time(14, 20)),
        ("ahora mismo", TODAY, time(16, 20)),
        ("mañana 10:00", date(2026, 3, 5), time(10)),  # understood, then refused as ahead
    ],
)
def test_typed_times(typed: str, day: date, at: time) -> None:
    parsed = parse_typed_time(typed, NOW)
    assert (parsed.day, parsed.at) == (day, at)


@pytest.mark.parametrize("typed", ["yesterday", "ayer", "monday", "21/11"])
def test_a_day_without_an_hour_asks_for_the_hour(typed: str) -> None:
    assert parse_typed_time(typed, NOW).at is None


def test_a_time_alone_means_today_and_says_so() -> None:
    assert parse_typed_time("9:30", NOW) == TypedTime(TODAY, time(9, 30), day_named=False)
    assert parse_typed_time("today 9:30", NOW).day_named


def test_day_and_month_order_follows_the_clinic_but_impossible_orders_flip() -> None:
    assert parse_typed_time("3/2 10:00", NOW).day == date(2026, 2, 3)
    assert parse_typed_time("3/2 10:00", NOW, day_first=False).day == date(2026, 3, 2)
    assert parse_typed_time("11/21 10:00", NOW).day == date(2025, 11, 21)
    assert parse_typed_time("21/11 10:00", NOW, day_first=False).day == date(2025, 11, 21)


@pytest.mark.parametrize(
    "typed",
    ["", "   ", "banana", "sometime last week", "25:00", "today 13pm", "31/02 10:00", "9:75"],
)
def test_what_is_not_a_time_is_refused(typed: str) -> None:
    with pytest.raises(TimeParseError):
        parse_typed_time(typed, NOW)


def test_future_and_too_old_times_are_problems_small_skew_is_not() -> None:
    now = datetime(2026, 3, 4, 12, tzinfo=UTC)
    assert time_problem(now + timedelta(minutes=4), now) is None
    assert time_problem(now + timedelta(minutes=6), now) == "future"
    assert time_problem(now - timedelta(days=14), now) is None
    assert time_problem(now - timedelta(days=14, minutes=1), now) == "too_old"


@pytest.mark.parametrize(
    "typed",
    [
        "730134 days ago",  # before year 1: date arithmetic overflows
        "17523193 hours ago",
        "24000000000 hours ago",  # more than timedelta holds
        "hace 9999999999 dias",
        "99999999999999999999 minutes ago",
        "hace " + "9" * 5000 + " horas",  # past Python's int-from-text digit limit
    ],
)
def test_a_count_further_back_than_any_calendar_is_refused_not_a_crash(typed: str) -> None:
    """Found by the fuzz suite: these raised OverflowError, which the conversation does not
    catch, so the patient got no reply at all."""
    with pytest.raises(TimeParseError, match="too far back"):
        parse_typed_time(typed, datetime(2000, 1, 15))


def test_a_large_count_that_still_fits_the_calendar_is_a_date_for_the_caller_to_refuse() -> None:
    typed = parse_typed_time("400 days ago", NOW)
    assert typed.day == date(2025, 1, 28)
    assert time_problem(datetime.combine(typed.day, time(9)), NOW) == "too_old"
