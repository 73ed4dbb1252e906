from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from scheduler.quiet_hours import QuietHours

TOKYO = ZoneInfo("Asia/Tokyo")


def test_a_window_across_midnight_contains_late_evening_and_early_morning() -> None:
    quiet = QuietHours.parse("21:00-08:00")
    assert quiet is not None
    assert (
        quiet.contains(time(21, 0)) and quiet.contains(time(3, 0)) and quiet.contains(time(7, 59))
    )
    assert not quiet.contains(time(8, 0)) and not quiet.contains(time(20, 59))


def test_a_daytime_window_works_too() -> None:
    quiet = QuietHours.parse("12:00-13:30")
    assert quiet is not None and quiet.contains(time(12, 45)) and not quiet.contains(time(13, 30))


def test_defer_moves_a_late_evening_instant_to_the_next_morning() -> None:
    quiet = QuietHours.parse("21:00-08:00")
    assert quiet is not None
    evening = datetime(2026, 5, 4, 23, 15, tzinfo=TOKYO)
    assert quiet.defer(evening, TOKYO) == datetime(2026, 5, 5, 8, 0, tzinfo=TOKYO)
    early = datetime(2026, 5, 5, 6, 0, tzinfo=TOKYO)
    assert quiet.defer(early, TOKYO) == datetime(2026, 5, 5, 8, 0, tzinfo=TOKYO)
    noon = datetime(2026, 5, 5, 12, 0, tzinfo=TOKYO)
    assert quiet.defer(noon, TOKYO) == noon


@pytest.mark.parametrize("text", ["off", "", "none"])
def test_off_means_no_quiet_hours(text: str) -> None:
    assert QuietHours.parse(text) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [("9pm-8am", "HH:MM-HH:MM"), ("25:00-08:00", "00-23"), ("08:00-08:00", "the same")],
)
def test_bad_windows_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        QuietHours.parse(text)
