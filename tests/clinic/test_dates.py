"""Reading treatment times as clinics write them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from clinic.dates import (
    date_format_problem,
    import_window,
    parse_treatment_at,
    parse_typed_treatment,
    treatment_window_problem,
)
from messages.protocol_files import load_protocol

NY = ZoneInfo("America/New_York")
MADRID = ZoneInfo("Europe/Madrid")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01T10:00", datetime(2026, 3, 1, 15, 0, tzinfo=UTC)),  # naive: clinic's zone
        ("2026-03-01 10:00:30", datetime(2026, 3, 1, 15, 0, 30, tzinfo=UTC)),
        ("2026-03-01T10:00-08:00", datetime(2026, 3, 1, 18, 0, tzinfo=UTC)),
        ("2026-03-01T10:00Z", datetime(2026, 3, 1, 10, 0, tzinfo=UTC)),
        ("13/02/2026 09:30", datetime(2026, 2, 13, 14, 30, tzinfo=UTC)),  # only day-first fits
        ("2/13/2026 9:30 PM", datetime(2026, 2, 14, 2, 30, tzinfo=UTC)),  # only month-first fits
        ("05.05.2026 08:00", datetime(2026, 5, 5, 12, 0, tzinfo=UTC)),  # same either way
    ],
)
def test_iso_and_unambiguous_dates_are_read_in_the_zone(text: str, expected: datetime) -> None:
    assert parse_treatment_at(text, NY) == expected


def test_a_date_that_reads_two_ways_is_refused_without_a_configured_order() -> None:
    with pytest.raises(ValueError, match="ambiguous") as caught:
        parse_treatment_at("03/04/2026 10:00", NY)
    assert "3 April 2026 (day first) or 4 March 2026 (month first)" in str(caught.value)


def test_the_clinics_date_order_settles_it() -> None:
    assert parse_treatment_at("03/04/2026 10:00", MADRID, "DMY") == datetime(
        2026, 4, 3, 8, 0, tzinfo=UTC
    )
    assert parse_treatment_at("03/04/2026 10:00", NY, "MDY") == datetime(
        2026, 3, 4, 15, 0, tzinfo=UTC
    )
    assert parse_treatment_at("04.03.2026 10.00", MADRID, "%d.%m.%Y %H.%M") == datetime(
        2026, 3, 4, 9, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2026-02-30T10:00", "'2026-02-30T10:00': February 2026 has no day 30"),
        ("31/04/2026 10:00", "'31/04/2026 10:00': April 2026 has no day 31"),
        ("2026-13-01 10:00", "'2026-13-01 10:00': there is no month 13"),
        ("2026-03-01", "'2026-03-01' has no time of day (for example 2026-03-01T14:30)"),
        ("46082.5", "'46082.5' looks like a spreadsheet date serial number"),
        ("yesterday", "not a date and time: 'yesterday'"),
        ("2026-03-08 02:30", "2026-03-08 02:30 does not exist in America/New_York"),
        ("2026-11-01 01:30", "2026-11-01 01:30 happens twice in America/New_York"),
        ("01/02/2026 25:00", "'01/02/2026 25:00': no such time of day"),
    ],
)
def test_impossible_or_unreadable_times_say_why(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)) as caught:
        parse_treatment_at(text, NY, "DMY" if "/" in text else None)
    assert str(caught.value).startswith(reason)


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("9999-12-31T23:59", NY),  # past the last representable instant once in UTC
        ("0001-01-01T00:00", ZoneInfo("Asia/Tokyo")),  # before the first one
        ("0001-01-01T00:00+14:00", NY),
        ("31/12/9999 23:59", NY),
    ],
)
def test_a_time_at_the_ends_of_the_calendar_is_refused_with_a_reason(
    text: str, zone: ZoneInfo
) -> None:
    with pytest.raises(ValueError, match=re.escape(f"{text!r} is not a date a treatment can have")):
        parse_treatment_at(text, zone, "DMY")


def test_the_window_checks_hold_at_the_ends_of_the_calendar() -> None:
    protocol = load_protocol(None)
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    last = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    first = datetime(1, 1, 1, tzinfo=UTC)
    assert treatment_window_problem(last, now, protocol) == (
        "treatment time is more than 90 days ahead"
    )
    assert (treatment_window_problem(first, now, protocol) or "").startswith(
        "treatment is older than 17 days"
    )


def test_date_formats_a_clinic_may_configure() -> None:
    assert date_format_problem("DMY") is None
    assert date_format_problem("%d/%m/%Y %H:%M") is None
    assert "needs a time" in (date_format_problem("%d/%m/%Y") or "")
    assert "DMY, MDY, YMD" in (date_format_problem("dd/mm/yyyy") or "")


def test_the_cutoff_is_the_last_milestone_plus_its_window_and_the_message_says_so() -> None:
    protocol = load_protocol(None)
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert import_window(protocol) == timedelta(days=17)  # sunscreen at 14d, window 3d
    assert treatment_window_problem(now - timedelta(days=17), now, protocol) is None
    assert treatment_window_problem(now - timedelta(days=17, minutes=1), now, protocol) == (
        "treatment is older than 17 days, the import window "
        "(the protocol's last milestone, sunscreen at 14d, plus its 3d window)"
    )
    # A booked appointment may be enrolled up to 90 days ahead, not further.
    assert treatment_window_problem(now + timedelta(days=90), now, protocol) is None
    assert treatment_window_problem(now + timedelta(days=90, minutes=6), now, protocol) == (
        "treatment time is more than 90 days ahead"
    )


@pytest.mark.parametrize(
    ("typed", "ago"),
    [("-2h", timedelta(hours=2)), ("-90m", timedelta(minutes=90)), ("-3d", timedelta(days=3))],
)
def test_a_typed_treatment_may_say_how_long_ago_to_the_minute(typed: str, ago: timedelta) -> None:
    now = datetime(2026, 11, 22, 12, 0, 42, 5000, tzinfo=UTC)
    assert parse_typed_treatment(typed, NY, now) == datetime(2026, 11, 22, 12, 0, tzinfo=UTC) - ago


def test_a_typed_treatment_otherwise_follows_the_csv_rules() -> None:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert parse_typed_treatment("2026-11-21T09:30", NY, now) == parse_treatment_at(
        "2026-11-21T09:30", NY
    )
    with pytest.raises(ValueError, match="has no time of day"):
        parse_typed_treatment("2026-11-21", NY, now)
    with pytest.raises(ValueError, match="or how long ago such as -2h"):
        parse_typed_treatment("yesterday", NY, now)
    with pytest.raises(ValueError, match="not a date and time"):
        parse_typed_treatment("+2h", NY, now)  # the future is not a treatment time


def test_an_appointment_may_be_typed_as_how_far_ahead_where_the_command_allows_it() -> None:
    now = datetime(2026, 11, 22, 12, 0, 42, tzinfo=UTC)
    assert parse_typed_treatment("+3d", NY, now, ahead=True) == datetime(
        2026, 11, 25, 12, 0, tzinfo=UTC
    )
    assert parse_typed_treatment("-2h", NY, now, ahead=True) == datetime(
        2026, 11, 22, 10, 0, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="or how long ago or ahead such as -2h or \\+3d"):
        parse_typed_treatment("tomorrow", NY, now, ahead=True)
