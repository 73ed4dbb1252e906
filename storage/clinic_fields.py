"""What a clinic record may hold: slug, name, phone, time zone, country, language. Pure.

The same checks run where a person types the values (the CLI) and in the storage layer, so
no path can store a clinic whose phone patients are told to call is "not a phone", or whose
language every later patient would inherit and fail on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers

from storage.values import LANGUAGES

SLUG_PATTERN = re.compile(r"[a-z0-9-]{1,40}")
NAME_MAX = 120  # the column's width
# Names the zone database accepts that mean "whatever this host is set to", not a place.
HOST_DEPENDENT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


class ClinicFieldError(ValueError):
    """One bad value; the message names the field and says what is allowed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


@dataclass(frozen=True)
class ClinicFields:
    """Values that passed every check, normalised (phone in E.164, country upper-case)."""

    slug: str
    name: str
    phone: str
    timezone: str
    country: str
    language: str


def check_slug(slug: str) -> str:
    if SLUG_PATTERN.fullmatch(slug):
        return slug
    rule = "use 1 to 40 lower-case letters (a-z), digits or '-'"
    if not slug:
        raise ClinicFieldError("slug", f"must not be empty; {rule}")
    if len(slug) > 40:
        raise ClinicFieldError("slug", f"is {len(slug)} characters long; {rule}")
    bad = next(ch for ch in slug if not SLUG_PATTERN.fullmatch(ch))
    raise ClinicFieldError("slug", f"{slug!r} contains {bad!r}; {rule}")


def check_name(name: str) -> str:
    text = name.strip()
    if not text:
        raise ClinicFieldError("name", "must not be empty")
    if len(text) > NAME_MAX:
        raise ClinicFieldError("name", f"is {len(text)} characters; at most {NAME_MAX}")
    if any(not ch.isprintable() for ch in text):
        raise ClinicFieldError("name", "must not contain control characters or line breaks")
    return text


def check_country(country: str) -> str:
    code = country.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ClinicFieldError(
            "country", f"must be a two-letter country code such as US or ES, got {country!r}"
        )
    return code


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise ClinicFieldError("language", f"must be en or es, got {language[:20]!r}")
    return language


def check_timezone(name: str) -> str:
    try:
        if name in HOST_DEPENDENT_ZONES:
            raise ValueError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        hint = _zone_spelled(name)
        suggestion = f"; did you mean {hint}?" if hint else " such as America/New_York"
        raise ClinicFieldError(
            "timezone", f"unknown time zone {name[:60]!r} (use an IANA name{suggestion})"
        ) from None
    return name


def normalise_phone(raw: str, country: str, *, require_assigned: bool = True) -> str:
    """The number in E.164; local numbers are read in `country`.

    `require_assigned` also asks the numbering plan whether the number can be in service
    (libphonenumber's "valid"). Without it only the length for its country code is checked.
    """
    text = raw.strip()
    try:
        number = phonenumbers.parse(text, country.upper())
    except phonenumbers.NumberParseException:
        raise ValueError(f"not a phone number: {text[:40]!r}") from None
    usable = (
        phonenumbers.is_valid_number(number)
        if require_assigned
        else phonenumbers.is_possible_number(number)
    )
    if not usable:
        raise ValueError(f"not a valid phone number for {country.upper()}: {text[:40]!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_phone(raw: str, country: str, *, require_assigned: bool = True) -> str:
    try:
        return normalise_phone(raw, country, require_assigned=require_assigned)
    except ValueError as exc:
        raise ClinicFieldError("phone", f"{exc} (write it as +<country code><number>)") from None


def check_clinic(
    slug: str,
    name: str,
    phone: str,
    timezone: str,
    country: str,
    language: str,
    *,
    require_assigned_phone: bool = True,
) -> ClinicFields:
    """Every field checked, in the order a person reads the command; the first bad one raises."""
    checked_slug = check_slug(slug)
    checked_name = check_name(name)
    code = check_country(country)
    return ClinicFields(
        slug=checked_slug,
        name=checked_name,
        phone=check_phone(phone, code, require_assigned=require_assigned_phone),
        timezone=check_timezone(timezone),
        country=code,
        language=check_language(language),
    )


def _zone_spelled(name: str) -> str | None:
    """The zone a mistyped name means when only its letter case is wrong."""
    wanted = name.strip().lower()
    return next((z for z in _known_zones() if z.lower() == wanted), None)


@cache
def _known_zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones() - HOST_DEPENDENT_ZONES))
