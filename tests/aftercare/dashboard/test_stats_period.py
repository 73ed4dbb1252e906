"""The statistics page's period: weeks from Monday midnight in the clinic's zone, DST
included; sensible answers to odd queries. And how a wait is written."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from aftercare.dashboard.stats_period import long_label, read_period
from aftercare.dashboard.stats_view import duration

NEW_YORK = ZoneInfo("America/New_York")
TODAY = date(2026, 3, 11)  # a Wednesday, after the clocks went forward on 8 March


def test_by_default_the_last_eight_weeks_this_one_included() -> None:
    period = read_period({}, TODAY, NEW_YORK)

    assert period.by == "week"
    assert period.days[0] == date(2026, 1, 19)
    assert period.days[-1] == date(2026, 3, 16)
    assert period.buckets == 8
    assert period.as_params() == {"from": "2026-01-19", "to": "2026-03-11", "by": "week"}


def test_a_week_starts_at_local_midnight_so_the_dst_week_is_an_hour_short() -> None:
    period = read_period({"from": "2026-03-02"}, TODAY, NEW_YORK)

    assert period.bounds == [
        datetime(2026, 3, 2, 5, tzinfo=UTC),  # midnight EST
        datetime(2026, 3, 9, 4, tzinfo=UTC),  # midnight EDT
        datetime(2026, 3, 16, 4, tzinfo=UTC),
    ]
    assert period.bounds[1] - period.bounds[0] == timedelta(hours=167)


def test_days_reversed_are_swapped_and_the_future_is_cut_at_today() -> None:
    period = read_period({"from": "2026-03-30", "to": "2026-03-09", "by": "day"}, TODAY, NEW_YORK)

    assert (period.days[0], period.days[-1]) == (date(2026, 3, 9), date(2026, 3, 12))
    assert period.problems == []


def test_a_bad_date_is_reported_and_the_default_used() -> None:
    period = read_period({"to": "31/12/2026"}, TODAY, NEW_YORK)

    assert period.problems == [("stats.bad_date", {"field": "to", "value": "31/12/2026"})]
    assert period.last == TODAY


def test_too_many_buckets_keep_the_latest() -> None:
    period = read_period({"from": "2020-01-01"}, TODAY, NEW_YORK)

    assert period.buckets == 53
    assert period.days[-1] == date(2026, 3, 16)
    assert period.problems == [("stats.too_long.week", {"count": 53})]


def test_bucket_names() -> None:
    assert long_label(date(2026, 2, 16), date(2026, 2, 23), "week") == "16–22 Feb 2026"
    assert long_label(date(2026, 2, 23), date(2026, 3, 2), "week") == "23 Feb – 1 Mar 2026"
    assert long_label(date(2026, 12, 28), date(2027, 1, 4), "week") == ("28 Dec 2026 – 3 Jan 2027")
    assert long_label(date(2026, 2, 16), date(2026, 2, 17), "day") == "16 Feb 2026"


def test_a_wait_is_written_in_minutes_hours_or_days() -> None:
    assert duration(None) == "—"
    assert duration(59) == "under 1 min"
    assert duration(25 * 60 + 59) == "25 min"
    assert duration(2 * 3600) == "2 h"
    assert duration(2 * 3600 + 5 * 60) == "2 h 5 min"
    assert duration(3 * 86400 + 4 * 3600 + 120) == "3 d 4 h"
