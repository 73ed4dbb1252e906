"""Reading `treatment_at` the way booking systems and spreadsheets write it. Pure.

Accepted: ISO 8601 with or without an offset (`2026-03-01T14:30`, `2026-03-01 14:30-05:00`,
`...Z`), or a day/month/year with a time. Without an offset the time is local to the given
zone. A clinic may configure its date order (`DMY`, `MDY`, `YMD`) or a strftime pattern; with
none configured, a date such as 03/04/2026 is refused as ambiguous rather than guessed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from messages.protocol import Protocol
from scheduler.planning import MAX_AHEAD, treatment_time_problem

DATE_ORDERS = ("DMY", "MDY", "YMD")

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ].*)?$")
_NUMERIC = re.compile(
    r"^(?P<a>\d{1,4})(?P<sep>[/.\-])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4})"
    r"(?:[ T,]+(?P<time>.+))?$"
)
_TIME = re.compile(
    r"^(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?$"
)
_SERIAL = re.compile(r"^\d{5}(\.\d+)?$")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


_RELATIVE = re.compile(r"^(?P<sign>[-+])(?P<amount>\d{1,5})(?P<unit>[mhd])$")
_RELATIVE_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_typed_treatment(
    text: str,
    zone: ZoneInfo,
    now: datetime,
    date_format: str | None = None,
    *,
    ahead: bool = False,
) -> datetime:
    """What a person types on the command line: how long ago (`-2h`, `-90m`, `-3d`), so a
    command in a README never goes stale, or anything `parse_treatment_at` reads, by the
    same rules as a CSV file (a date without a time of day is refused). With `ahead`, an
    appointment may also be typed as how far ahead (`+2d`)."""
    relative = _RELATIVE.match(text.strip())
    if relative and (relative.group("sign") == "-" or ahead):
        step = timedelta(**{_RELATIVE_UNITS[relative.group("unit")]: int(relative["amount"])})
        then = now - step if relative.group("sign") == "-" else now + step
        return then.astimezone(UTC).replace(second=0, microsecond=0)  # to the minute, as typed
    try:
        return parse_treatment_at(text, zone, date_format)
    except ValueError as exc:
        if str(exc).startswith("not a date and time"):
            hint = "or ahead such as -2h or +3d" if ahead else "such as -2h, -90m or -3d"
            raise ValueError(f"{exc}, or how long ago {hint}") from None
        raise


def import_window(protocol: Protocol) -> timedelta:
    """How far back a treatment may be: the last milestone's offset plus its window."""
    last = protocol.timed[-1]
    return last.offset.nominal + last.window.nominal


def treatment_window_problem(
    treated_at: datetime, now: datetime, protocol: Protocol, ahead: timedelta = MAX_AHEAD
) -> str | None:
    """Why the treatment cannot be registered now (in the future, or too old), or None.

    The planner's own check, with the cutoff named as the window it really is.
    """
    if treated_at < now - import_window(protocol):  # not treated_at + ...: year 9999
        last = protocol.timed[-1]
        return (
            f"treatment is older than {_span(import_window(protocol))}, the import window "
            f"(the protocol's last milestone, {last.key} at {last.offset}, plus its "
            f"{last.window} window)"
        )
    return treatment_time_problem(treated_at, now, protocol, ahead)


def _span(length: timedelta) -> str:
    if length % timedelta(days=1) == timedelta(0):
        return f"{length.days} days"
    return f"{length / timedelta(hours=1):g} hours"


def date_format_problem(fmt: str) -> str | None:
    """Why `fmt` cannot be a clinic's date format, or None."""
    if fmt.upper() in DATE_ORDERS:
        return None
    if "%" not in fmt:
        return f"date format must be DMY, MDY, YMD or a strftime pattern, got {fmt!r}"
    if not all(code in fmt for code in ("%d", "%m")) or not ("%Y" in fmt or "%y" in fmt):
        return f"date format {fmt!r} needs %d, %m and %Y (for example '%d/%m/%Y %H:%M')"
    if "%H" not in fmt and "%I" not in fmt:
        return f"date format {fmt!r} needs a time (%H:%M), since reminders are timed"
    return None


def parse_treatment_at(text: str, zone: ZoneInfo, date_format: str | None = None) -> datetime:
    """The UTC instant `text` names; ValueError with a reason a clinic can act on."""
    value = text.strip()
    if not value:
        raise ValueError("is empty")
    if _SERIAL.match(value):
        raise ValueError(
            f"{value!r} looks like a spreadsheet date serial number; "
            "format the column as date and time and export again"
        )
    if _ISO.match(value):
        naive_or_aware = _parse_iso(value)
    elif date_format and date_format.upper() not in DATE_ORDERS:
        naive_or_aware = _parse_pattern(value, date_format)
    else:
        naive_or_aware = _parse_numeric(value, date_format.upper() if date_format else None)
    try:
        if naive_or_aware.tzinfo is not None:
            return naive_or_aware.astimezone(UTC)
        return _localize_strict(naive_or_aware, zone).astimezone(UTC)
    except OverflowError:  # year 1 or 9999 moved across midnight by the zone's offset
        raise ValueError(f"{value!r} is not a date a treatment can have") from None


def _parse_iso(value: str) -> datetime:
    if len(value) == 10:
        raise ValueError(f"{value!r} has no time of day (for example {value}T14:30)")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        pass
    _check_calendar(int(value[0:4]), int(value[5:7]), int(value[8:10]), value)
    raise ValueError(f"not an ISO 8601 date and time: {value!r} (for example 2026-03-01T14:30)")


def _parse_pattern(value: str, pattern: str) -> datetime:
    try:
        return datetime.strptime(value, pattern)
    except ValueError:
        raise ValueError(f"{value!r} does not match the clinic's date format {pattern!r}") from None


def _parse_numeric(value: str, order: str | None) -> datetime:
    match = _NUMERIC.match(value)
    if not match:
        expected = f" or the clinic's format {order}" if order else ""
        raise ValueError(
            f"not a date and time: {value!r} (use ISO 8601 such as 2026-03-01T14:30{expected})"
        )
    a, b, c = (match.group(k) for k in ("a", "b", "c"))
    if match.group("time") is None:
        raise ValueError(f"{value!r} has no time of day (for example {value} 14:30)")
    hour, minute, second = _parse_time(match.group("time"), value)
    if len(a) == 4:
        order = "YMD"
    if order == "YMD":
        year, month, day = int(a), int(b), int(c)
    else:
        if len(c) not in (2, 4):
            raise ValueError(f"{value!r}: the year must have 4 digits")
        year = int(c) + (2000 if len(c) == 2 else 0)
        first, second_part = int(a), int(b)
        if order is None:
            order = _infer_order(first, second_part, value, year)
        day, month = (first, second_part) if order == "DMY" else (second_part, first)
    _check_calendar(year, month, day, value)
    return datetime(year, month, day, hour, minute, second)


def _infer_order(first: int, second: int, value: str, year: int) -> str:
    if first > 12 >= second:
        return "DMY"
    if second > 12 >= first:
        return "MDY"
    if first == second or first > 12:
        return "DMY"  # the same either way, or impossible either way (reported below)
    raise ValueError(
        f"ambiguous date {value!r}: {first} {_MONTHS[second - 1]} {year} (day first) or "
        f"{second} {_MONTHS[first - 1]} {year} (month first)? "
        "Use ISO 8601 (YYYY-MM-DD) or set the clinic's date format"
    )


def _parse_time(text: str, whole: str) -> tuple[int, int, int]:
    match = _TIME.match(text.strip())
    if not match:
        raise ValueError(f"{whole!r}: cannot read the time {text.strip()!r} (for example 14:30)")
    hour, minute = int(match.group("h")), int(match.group("m"))
    second = int(match.group("s") or 0)
    ampm = (match.group("ampm") or "").replace(".", "").lower()
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError(f"{whole!r}: {hour} is not an hour on a 12-hour clock")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{whole!r}: no such time of day")
    return hour, minute, second


def _check_calendar(year: int, month: int, day: int, value: str) -> None:
    if not 1 <= month <= 12:
        raise ValueError(f"{value!r}: there is no month {month}")
    try:
        datetime(year, month, day)
    except ValueError:
        raise ValueError(f"{value!r}: {_MONTHS[month - 1]} {year} has no day {day}") from None


def _localize_strict(naive: datetime, zone: ZoneInfo) -> datetime:
    """Attach `zone`, refusing wall-clock times that do not exist or happen twice."""
    early, late = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if early.utcoffset() == late.utcoffset():
        return early
    if early.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise ValueError(
            f"{naive:%Y-%m-%d %H:%M} does not exist in {zone.key} (clocks moved forward)"
        )
    raise ValueError(
        f"{naive:%Y-%m-%d %H:%M} happens twice in {zone.key} (clocks moved back); "
        "add the UTC offset, for example "
        f"{naive:%Y-%m-%dT%H:%M}{_offset(early)} or {naive:%Y-%m-%dT%H:%M}{_offset(late)}"
    )


def _offset(instant: datetime) -> str:
    offset = instant.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
