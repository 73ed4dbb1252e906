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
    number = _plain_nanp(text, country.upper())
    if number is None:
        try:
            number = phonenumbers.parse(text, country.upper())
        except phonenumbers.NumberParseException:
            raise ValueError(f"not a phone number: {text[:40]!r}") from None
    usable = (
        _is_valid(number, country.upper())
        if require_assigned
        else phonenumbers.is_possible_number(number)
    )
    if not usable:
        raise ValueError(f"not a valid phone number for {country.upper()}: {text[:40]!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# North American numbers as people write them: (212) 555-0100, 212.555.0100, +1 212-555-0100.
# An area code never starts with 0 or 1, so no national prefix, trunk or international
# prefix can be read into these digits: libphonenumber's parse would give country code 1 and
# the ten digits. A bulk import spends most of its validation parsing phone numbers.
_NANP_WRITTEN = re.compile(r"(\+1[ .-]?)?\(?([2-9][0-9]{2})\)?[ .-]?([0-9]{3})[ .-]?([0-9]{4})")


def _plain_nanp(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    """What `phonenumbers.parse(text, region)` returns for a plainly written North American
    number, made without parsing; None for anything else (parse decides)."""
    written = _NANP_WRITTEN.fullmatch(text)
    if written is None or (written[1] is None and not _reads_local_as_plain_nanp(region)):
        return None
    return phonenumbers.PhoneNumber(
        country_code=1, national_number=int(written[2] + written[3] + written[4])
    )


@cache
def _reads_local_as_plain_nanp(region: str) -> bool:
    """The region reads a local number as +1 with no rule of its own: no national prefix but
    1 and no seven-digit local dialling (regions that have one are left to parse)."""
    if region not in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1]:
        return False
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return (
        meta is not None
        and meta.national_prefix_for_parsing == "1"
        and meta.international_prefix == "011"
    )


def _is_valid(number: phonenumbers.PhoneNumber, region: str) -> bool:
    """libphonenumber's is_valid_number, asked of the clinic's own region first.

    is_valid_number first finds the number's region by trying each region of its country
    code in turn (some twenty for +1), then validates it there. When the clinic's region is
    the first one tried and is tried by full validation (no leading-digits shortcut), a
    number valid there is where that search stops, so the answer is the same at the cost of
    one region instead of the whole list.
    """
    if _tried_first(number.country_code, region) and phonenumbers.is_valid_number_for_region(
        number, region
    ):
        return True
    return bool(phonenumbers.is_valid_number(number))


@cache
def _tried_first(country_code: int, region: str) -> bool:
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    if not regions or regions[0] != region:
        return False
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return meta is not None and (len(regions) == 1 or meta.leading_digits is None)


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
