"""Reading a treatment time as a patient types it, in English or Spanish. Pure, no I/O.

"today 2pm", "yesterday 15:30", "21/11 14:00", "hoy a las 3 de la tarde", "ayer 9:15",
"hace 2 horas", "2 hours ago", "now". The result is a wall-clock day and (maybe) time in
the patient's zone; the caller attaches the zone and decides whether it is acceptable.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TypeVar

MAX_DAYS_BACK = 14
FUTURE_TOLERANCE = timedelta(minutes=5)
# More digits than this is more days than a calendar holds (and timedelta refuses).
_MAX_COUNT_DIGITS = 9
_Instant = TypeVar("_Instant", date, datetime)


class TimeParseError(ValueError):
    """The text is not a time we understand."""


@dataclass(frozen=True)
class TypedTime:
    day: date
    at: time | None  # None: the patient named a day but not the hour
    day_named: bool = True  # False: only a time was typed, "today" was assumed

    def combine(self) -> datetime:
        if self.at is None:
            raise ValueError("no time of day")
        return datetime.combine(self.day, self.at)


_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january", "ene", "enero"),
            ("feb", "february", "febrero"),
            ("mar", "march", "marzo"),
            ("apr", "april", "abr", "abril"),
            ("may", "mayo"),
            ("jun", "june", "junio"),
            ("jul", "july", "julio"),
            ("aug", "august", "ago", "agosto"),
            ("sep", "sept", "september", "septiembre", "setiembre"),
            ("oct", "october", "octubre"),
            ("nov", "november", "noviembre"),
            ("dec", "december", "dic", "diciembre"),
        ),
        start=1,
    )
    for name in names
}
_WEEKDAYS = {
    name: number
    for number, names in enumerate(
        (
            ("monday", "mon", "lunes"),
            ("tuesday", "tue", "tues", "martes"),
            ("wednesday", "wed", "miercoles"),
            ("thursday", "thu", "thurs", "jueves"),
            ("friday", "fri", "viernes"),
            ("saturday", "sat", "sabado"),
            ("sunday", "sun", "domingo"),
        )
    )
    for name in names
}
_DAY_WORDS = {
    "today": 0,
    "hoy": 0,
    "tonight": 0,
    "yesterday": 1,
    "ayer": 1,
    "anteayer": 2,
    "antier": 2,
    "day before yesterday": 2,
    "the day before yesterday": 2,
    "antes de ayer": 2,
    # Understood so that the patient hears "that is still ahead", not "I didn't get it".
    "tomorrow": -1,
    "manana": -1,
}
_NOW_WORDS = {"now", "just now", "right now", "ahora", "ahora mismo", "recien", "justo ahora"}
# Words that carry no meaning here: "at 2pm", "a las 14", "on Monday", "el lunes".
_FILLER = {"at", "on", "around", "about", "approx", "a", "las", "la", "el", "sobre", "hacia"}
_FILLER |= {"this", "last", "past", "pasado", "o'clock", "oclock", "en"}

_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_NUM_DATE = re.compile(r"\b(\d{1,2})[/-](\d{1,2})(?:[/-](\d{2}|\d{4}))?\b")
_DOTTED_DATE = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{2}|\d{4})\b")
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:de\s+|of\s+)?({_MONTH_NAMES})\.?\b")
_MONTH_DAY = re.compile(rf"\b({_MONTH_NAMES})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b")
_AGO = re.compile(
    r"^(?:(\d+|an?|one|una?)\s*(hours?|hrs?|h|minutes?|mins?|m)\s+ago"
    r"|hace\s+(\d+|una?)\s*(horas?|h|minutos?|mins?|m))$"
)
_DAYS_AGO = re.compile(r"\b(?:(\d+)\s+days?\s+ago|hace\s+(\d+)\s+dias?)\b")
_CLOCK = re.compile(r"\b(\d{1,2})\s*[:.h]\s*(\d{2})\s*(am|pm)?(?!\d)")
_AMPM = re.compile(r"\b(\d{1,2})\s*(am|pm)\b")
_HOUR_H = re.compile(r"\b(\d{1,2})\s*(?:h|hs|hrs|horas?)\b")
_NOON = re.compile(r"\b(noon|midday|mediodia)\b")
_SPANISH_PERIOD = re.compile(r"\s*\bde\s+la\s+(manana|tarde|noche)\b|\s*\b(por\s+la\s+\w+)\b")
_BARE_HOUR = re.compile(r"^(\d{1,2})$")


def _normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    plain = re.sub(r"\b([ap])\.\s?m\.?", r"\1m", plain)  # p.m. / a. m. -> pm / am
    plain = re.sub(r"[,;!?¿¡]", " ", plain)
    return re.sub(r"\s+", " ", plain).strip()


def _year_for(day: int, month: int, today: date) -> date:
    """A date typed without a year: this year, unless that is still ahead (then last year)."""
    candidate = date(today.year, month, day)
    return candidate if candidate <= today else date(today.year - 1, month, day)


def _make_date(day: int, month: int, year: int | None, today: date, day_first: bool) -> date:
    if not day_first:
        day, month = month, day
    if month > 12 and day <= 12:  # the other order is the only one that makes sense
        day, month = month, day
    try:
        if year is None:
            return _year_for(day, month, today)
        if year < 100:
            year += 2000
        return date(year, month, day)
    except ValueError:
        raise TimeParseError("no such date") from None


def _hour(hour: int, minute: int, meridiem: str | None) -> time:
    if meridiem is not None:
        if not 1 <= hour <= 12:
            raise TimeParseError("hours with am/pm go from 1 to 12")
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise TimeParseError("no such time of day")
    return time(hour, minute)


def _take(pattern: re.Pattern[str], text: str) -> tuple[re.Match[str] | None, str]:
    match = pattern.search(text)
    if match is None:
        return None, text
    return match, (text[: match.start()] + " " + text[match.end() :]).strip()


def _spanish_period(text: str) -> tuple[str | None, str]:
    """'de la tarde' / 'de la noche' -> pm, 'de la manana' -> am."""
    match = _SPANISH_PERIOD.search(text)
    if match is None or match.group(1) is None:
        return None, text
    rest = (text[: match.start()] + " " + text[match.end() :]).strip()
    return ("am" if match.group(1) == "manana" else "pm"), rest


def _take_time(text: str, period: str | None) -> tuple[time | None, str]:
    match, rest = _take(_CLOCK, text)
    if match:
        return _hour(
            int(match[1]), int(match[2]), match[3] or _pm_only(period, int(match[1]))
        ), rest
    match, rest = _take(_AMPM, text)
    if match:
        return _hour(int(match[1]), 0, match[2]), rest
    match, rest = _take(_HOUR_H, text)
    if match:
        return _hour(int(match[1]), 0, _pm_only(period, int(match[1]))), rest
    match, rest = _take(_NOON, text)
    if match:
        return time(12, 0), rest
    if period is not None:
        # "a las 3 de la tarde": the number stands alone once the filler is gone.
        words = [w for w in text.split() if w not in _FILLER]
        numbers = [w for w in words if w.isdigit()]
        if len(numbers) == 1:
            remaining = " ".join(w for w in text.split() if w != numbers[0])
            return _hour(int(numbers[0]), 0, _pm_only(period, int(numbers[0]))), remaining
    return None, text


def _pm_only(period: str | None, hour: int) -> str | None:
    """A Spanish period only moves 1-12 o'clock; '15:00 de la tarde' stays 15:00."""
    return period if period is not None and 1 <= hour <= 12 else None


def _take_date(text: str, today: date, day_first: bool) -> tuple[date | None, str]:
    match, rest = _take(_ISO_DATE, text)
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3])), rest
        except ValueError:
            raise TimeParseError("no such date") from None
    for pattern in (_DOTTED_DATE, _NUM_DATE):
        match, rest = _take(pattern, text)
        if match:
            year = int(match[3]) if match[3] else None
            return _make_date(int(match[1]), int(match[2]), year, today, day_first), rest
    match, rest = _take(_DAYS_AGO, text)
    if match:
        return _back(today, timedelta(days=_count(match[1] or match[2]))), rest
    match, rest = _take(_DAY_MONTH, text)
    if match:
        return _make_date(int(match[1]), _MONTHS[match[2]], None, today, True), rest
    match, rest = _take(_MONTH_DAY, text)
    if match:
        return _make_date(int(match[2]), _MONTHS[match[1]], None, today, True), rest
    for phrase in sorted(_DAY_WORDS, key=len, reverse=True):
        found = re.search(rf"\b{phrase}\b", text)
        if found:
            rest = (text[: found.start()] + " " + text[found.end() :]).strip()
            return today - timedelta(days=_DAY_WORDS[phrase]), rest
    for word in text.split():
        if word in _WEEKDAYS:
            back = (today.weekday() - _WEEKDAYS[word]) % 7
            rest = " ".join(w for w in text.split() if w != word)
            return today - timedelta(days=back), rest
    return None, text


def _count(digits: str) -> int:
    """A typed number of days, hours or minutes; refused past what any calendar holds."""
    if len(digits) > _MAX_COUNT_DIGITS:
        raise TimeParseError("too far back")
    return int(digits)


def _back(instant: _Instant, delta: timedelta) -> _Instant:
    """`instant` minus `delta`; a huge count typed by a patient is refused, not a crash."""
    try:
        return instant - delta
    except OverflowError:
        raise TimeParseError("too far back") from None


def _relative(text: str, now: datetime) -> datetime | None:
    if text in _NOW_WORDS:
        return now.replace(second=0, microsecond=0)
    match = _AGO.match(text)
    if match is None:
        return None
    amount_text, unit = (match[1], match[2]) if match[1] else (match[3], match[4])
    amount = _count(amount_text) if amount_text.isdigit() else 1
    delta = timedelta(hours=amount) if unit.startswith("h") else timedelta(minutes=amount)
    return _back(now, delta).replace(second=0, microsecond=0)


def parse_typed_time(text: str, now: datetime, *, day_first: bool = True) -> TypedTime:
    """What the patient typed, as a local day and time. `now` is the local wall clock.

    A day without a time ("yesterday") comes back with `at=None`, so the caller can ask for
    the hour; a time without a day means today. `day_first` reads 5/11 as 5 November
    (False: as May 11, the US way); an impossible order such as 11/21 is read the other way.
    """
    cleaned = _normalise(text)
    if not cleaned:
        raise TimeParseError("empty")
    relative = _relative(cleaned, now)
    if relative is not None:
        return TypedTime(relative.date(), relative.time())
    today = now.date()
    period, rest = _spanish_period(cleaned)  # first: "manana" is also "tomorrow"
    day, rest = _take_date(rest, today, day_first)
    at, rest = _take_time(rest, period)
    if at is None:
        bare = _BARE_HOUR.match(" ".join(w for w in rest.split() if w not in _FILLER))
        if bare:
            at = _hour(int(bare[1]), 0, None)
            rest = ""
    leftovers = [w for w in rest.split() if w not in _FILLER]
    if leftovers or (day is None and at is None):
        raise TimeParseError("not understood")
    return TypedTime(day or today, at, day_named=day is not None)


def time_problem(treated: datetime, now: datetime) -> str | None:
    """'future' or 'too_old' for a treatment time; both aware (or both local wall clock)."""
    if treated > now + FUTURE_TOLERANCE:
        return "future"
    if treated < now - timedelta(days=MAX_DAYS_BACK):
        return "too_old"
    return None
