"""A moment as a patient reads it: in their zone and language, relative to today. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from messages.durations import Duration

_WEEKDAYS = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "es": ("lun", "mar", "mié", "jue", "vie", "sáb", "dom"),
}
_MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "es": ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"),
}
_RELATIVE = {
    "en": {-1: "yesterday", 0: "today", 1: "tomorrow"},
    "es": {-1: "ayer", 0: "hoy", 1: "mañana"},
}


def _clock(local: datetime, language: str) -> str:
    if language == "es":
        return f"{local:%H:%M}"
    hour = local.hour % 12 or 12
    return f"{hour}:{local:%M} {'am' if local.hour < 12 else 'pm'}"


def format_when(instant: datetime, zone: ZoneInfo, now: datetime, language: str) -> str:
    """ "tomorrow at 2:30 pm", "Thu 5 Mar at 10:00 am"; "mañana a las 14:30", "el jue 5 mar
    a las 10:00". Within a day either side, the day is named relative to `now`."""
    language = language if language in _WEEKDAYS else "en"
    local = instant.astimezone(zone)
    days = (local.date() - now.astimezone(zone).date()).days
    clock = _clock(local, language)
    if language == "es":
        day = _RELATIVE["es"].get(days)
        if day is None:
            weekday, month = _WEEKDAYS["es"][local.weekday()], _MONTHS["es"][local.month - 1]
            day = f"el {weekday} {local.day} {month}"
        return f"{day} a las {clock}"
    day = _RELATIVE["en"].get(days) or (
        f"{_WEEKDAYS['en'][local.weekday()]} {local.day} {_MONTHS['en'][local.month - 1]}"
    )
    return f"{day} at {clock}"


def longest_when(language: str) -> str:
    """The longest text `format_when` can give, for checking SMS budgets."""
    zone = ZoneInfo("UTC")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    candidates = (
        format_when(now + timedelta(days=days, hours=hours), zone, now, language)
        for days in range(-1, 400)
        for hours in (10, 23)
    )
    return max(candidates, key=len)


def _short_clock(local: datetime, language: str) -> str:
    if language == "es":
        return f"{local:%H:%M}"
    hour = local.hour % 12 or 12
    minutes = f":{local:%M}" if local.minute else ""
    return f"{hour}{minutes}{'am' if local.hour < 12 else 'pm'}"


def format_short_when(instant: datetime, zone: ZoneInfo, now: datetime, language: str) -> str:
    """The compact form an SMS has room for: "Wed 2:30pm", "mié 14:30" within six days of
    `now` (the weekday alone is then unambiguous), "16 Mar" / "16 mar" beyond."""
    language = language if language in _WEEKDAYS else "en"
    local = instant.astimezone(zone)
    days = abs((local.date() - now.astimezone(zone).date()).days)
    month = _MONTHS[language][local.month - 1]
    if days > 6:
        return f"{local.day} {month}"
    return f"{_WEEKDAYS[language][local.weekday()]} {_short_clock(local, language)}"


def longest_short_when(language: str) -> str:
    """The longest text `format_short_when` can give, for checking SMS budgets."""
    zone = ZoneInfo("UTC")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    candidates = (
        format_short_when(now + timedelta(days=days, minutes=minutes), zone, now, language)
        for days in range(-1, 40)
        for minutes in (10 * 60 + 30, 23 * 60 + 30)
    )
    return max(candidates, key=len)


def format_offset(offset: Duration, language: str) -> str:
    """A moment relative to the treatment, for texts written without the patient's timeline:
    "day 3" (72 hours on, as the reminders count days), "el día 3"; "90 min after treatment"
    for offsets that are not whole days."""
    hours = offset.nominal.total_seconds() / 3600
    if hours % 24 == 0:
        day = int(hours // 24)
        return f"el día {day}" if language == "es" else f"day {day}"
    if hours == int(hours):
        amount = f"{int(hours)}h"
    else:
        amount = f"{int(offset.nominal.total_seconds() // 60)} min"
    return f"{amount} tras el tratamiento" if language == "es" else f"{amount} after treatment"
