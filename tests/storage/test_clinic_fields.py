"""A clinic record holds only values patients can be given: checked as pure functions and again
by the repository, whatever path the values took."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from aftercare.wiring import Core
from storage.clinic_fields import (
    ClinicFieldError,
    check_clinic,
    check_language,
    check_slug,
    check_timezone,
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
