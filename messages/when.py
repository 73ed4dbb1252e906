"""A moment as a patient reads it: in their zone and language, relative to today. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

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
