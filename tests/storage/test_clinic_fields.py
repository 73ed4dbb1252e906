"""A clinic record holds only values patients can be given: checked as pure functions and again
by the repository, whatever path the values took."""

from __future__ import annotations

from typing import Any

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from aftercare.wiring import Core
from storage.clinic_fields import (
    ClinicFieldError,
    check_clinic,
    check_language,
    check_slug,
    check_timezone,
    normalise_phone,
)
from storage.patients import ClinicView, NotFoundError

GOOD: dict[str, Any] = {  # check_clinic's keyword arguments
    "slug": "glow",
    "name": "Glow",
    "phone": "+12125550100",
    "timezone": "America/New_York",
    "country": "US",
    "language": "en",
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("slug", ""),
        ("slug", "x" * 70),
        ("slug", "x'; DROP TABLE clinic;--"),
        ("slug", "ü ü/../x"),
        ("name", ""),
        ("name", "Glow\nCall 000"),
        ("phone", "not a phone"),
        ("phone", "n"),
        ("timezone", "Moon/Base"),
        ("timezone", "../../etc/passwd"),
        ("country", "USA"),
        ("language", "fr"),
        ("language", "EN"),
    ],
)
def test_each_bad_value_is_named_by_its_field(field: str, value: str) -> None:
    with pytest.raises(ClinicFieldError) as raised:
        check_clinic(**{**GOOD, field: value})
    assert raised.value.field == field


def test_good_values_come_back_normalised() -> None:
    fields = check_clinic("sol-2", "  Sol  ", "911 23 45 67", "Europe/Madrid", "es", "es")
    assert (fields.slug, fields.name, fields.phone, fields.country) == (
        "sol-2",
        "Sol",
        "+34911234567",
        "ES",
    )
    assert check_slug("a" * 40) == "a" * 40
    assert check_timezone("UTC") == "UTC"
    assert check_language("es") == "es"


def test_a_reserved_number_has_the_right_length_but_is_not_in_service() -> None:
    """Typed at the CLI it is refused; the storage layer checks only that it can be dialled."""
    with pytest.raises(ClinicFieldError):
        check_clinic(**{**GOOD, "phone": "+15551234567"})
    lenient = check_clinic(**{**GOOD, "phone": "+1 555 123 4567"}, require_assigned_phone=False)
    assert lenient.phone == "+15551234567"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("slug", "x'; DROP TABLE clinic;--"),
        ("slug", "x" * 70),
        ("phone", "not a phone"),
        ("language", "fr"),
        ("timezone", "Nowhere/Land"),
    ],
)
def test_the_repository_refuses_what_the_checks_refuse(core: Core, field: str, value: str) -> None:
    values = {**GOOD, field: value}
    with pytest.raises(ClinicFieldError):
        core.patients.add_clinic(
            values["slug"],
            values["name"],
            values["phone"],
            values["timezone"],
            values["country"],
            values["language"],
        )
    with core.db.session() as session:
        assert session.execute(text("SELECT count(*) FROM clinic")).scalar_one() == 0


def test_changing_a_clinic_is_checked_as_a_whole(core: Core, clinic: ClinicView) -> None:
    for change in ({"language": "fr"}, {"timezone": "Moon/Base"}, {"phone": "not a phone"}):
        with pytest.raises(ClinicFieldError):
            core.patients.update_clinic(clinic.slug, **change)
    assert core.patients.clinic(clinic.slug) == clinic
    changed = core.patients.update_clinic(
        clinic.slug, phone="(212) 555-0100", language="es", timezone="America/Chicago"
    )
    assert (changed.phone, changed.language, changed.timezone) == (
        "+12125550100",
        "es",
        "America/Chicago",
    )
    with pytest.raises(NotFoundError):
        core.patients.update_clinic("nobody", language="en")


def _parsed(raw: str, country: str, require_assigned: bool) -> str:
    """normalise_phone's answer made by libphonenumber's parse alone (no fast path)."""
    text = raw.strip()
    try:
        number = phonenumbers.parse(text, country.upper())
    except phonenumbers.NumberParseException:
        return "error: not a phone number"
    usable = (
        phonenumbers.is_valid_number(number)
        if require_assigned
        else phonenumbers.is_possible_number(number)
    )
    if not usable:
        return "error: not valid"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _normalised(raw: str, country: str, require_assigned: bool) -> str:
    try:
        return normalise_phone(raw, country, require_assigned=require_assigned)
    except ValueError as exc:
        return "error: not valid" if "not a valid" in str(exc) else "error: not a phone number"


_SEPARATOR = st.sampled_from(["", " ", "-", ".", "  ", "/"])
_WRITTEN_NANP = st.builds(
    lambda prefix, open_, area, close, s1, exchange, s2, line: (
        f"{prefix}{open_}{area}{close}{s1}{exchange}{s2}{line}"
    ),
    st.sampled_from(["", "+1", "+1 ", "+1-", "1 ", "+", "011 1 ", "+44 "]),
    st.sampled_from(["", "("]),
    st.from_regex(r"[0-9]{2,4}", fullmatch=True),
    st.sampled_from(["", ")"]),
    _SEPARATOR,
    st.from_regex(r"[0-9]{3}", fullmatch=True),
    _SEPARATOR,
    st.from_regex(r"[0-9]{3,5}", fullmatch=True),
)
# Regions that share a country code with others (+1, +44, +7, +39, +358), first or not.
_COUNTRIES = st.sampled_from(
    [
        "US",
        "us",
        "CA",
        "PR",
        "DO",
        "AG",
        "BS",
        "JM",
        "ES",
        "GB",
        "GG",
        "IM",
        "MX",
        "RU",
        "KZ",
        "IT",
        "VA",
        "FI",
        "AX",
    ]
)


@settings(max_examples=600, deadline=None)
@given(
    raw=st.one_of(
        _WRITTEN_NANP,
        st.text(alphabet="0123456789 ()-.+", max_size=18),
        # Numbers with a country code, so each region's own plan is reached.
        st.builds(
            "+{}{}".format,
            st.sampled_from(["1", "44", "7", "39", "358", "34", "52"]),
            st.from_regex(r"[0-9]{6,11}", fullmatch=True),
        ),
    ),
    country=_COUNTRIES,
    require_assigned=st.booleans(),
)
def test_a_phone_number_reads_the_same_as_libphonenumber_parses_it(
    raw: str, country: str, require_assigned: bool
) -> None:
    """North American numbers written plainly skip the parser (most of an import's
    validation time): the answer must be the parser's, whatever the writing and region."""
    assert _normalised(raw, country, require_assigned) == _parsed(raw, country, require_assigned)


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("(212) 555-0199", "US", "+12125550199"),
        ("212.555.0199", "us", "+12125550199"),
        ("+1 416-555-0199", "ES", "+14165550199"),
        ("416 555 0199", "US", "+14165550199"),  # a Canadian number at a US clinic
        ("345 6789", "BS", "+12423456789"),  # seven-digit local dialling: parse's own rule
        ("1 212 555 0199", "US", "+12125550199"),
    ],
)
def test_north_american_numbers_as_written(raw: str, country: str, expected: str) -> None:
    assert normalise_phone(raw, country) == expected
