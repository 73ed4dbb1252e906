"""The clinic's patient list on SQLite and PostgreSQL: newest first (or by name, for a name
search) by keyset pages in both directions, a search by the start of a first name, an
external id or a phone typed any way, and a status filter that agrees with the status each
row shows."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from aftercare.wiring import Core
from scheduler.clock import FakeClock
from scheduler.planning import NewPatient
from storage.enrollment import EnrollmentStore
from storage.models import Patient
from storage.patient_search import (
    Cursor,
    PatientPage,
    PatientQuery,
    PatientSearch,
    name_starts,
    search_terms,
)
from storage.patient_status import PatientStatus, StatusFacts, patient_status
from storage.patients import ClinicView

SPAN = timedelta(days=16)  # a treatment older than this is completed


def enroll(
    core: Core,
    clinic: ClinicView,
    external_id: str,
    first_name: str | None = "Ana",
    phone: str | None = None,
    *,
    days_ago: float = 0.1,
    telegram_chat_id: int | None = None,
) -> int:
    patient = NewPatient(external_id, "America/New_York", "en", first_name, phone, telegram_chat_id)
    treated_at = core.clock.now() - timedelta(days=days_ago)
    [registration] = core.planner.register_batch(clinic.id, [(patient, treated_at)])
    return registration.patient_id


def listing(core: Core, clinic: ClinicView, **query: object) -> PatientPage:
    now = core.clock.now()
    full = PatientQuery(now - SPAN, now, **query)  # type: ignore[arg-type]
    return PatientSearch(core.db).page(clinic.id, full)


def ids_of(page: PatientPage) -> list[str]:
    return [row.external_id for row in page.rows]


def search(core: Core, clinic: ClinicView, typed: str, **query: object) -> PatientPage:
    return listing(core, clinic, terms=search_terms(typed, clinic.country), **query)


def found(core: Core, clinic: ClinicView, typed: str) -> list[str]:
    return ids_of(search(core, clinic, typed))


# -- pure parts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "country", "phone"),
    [
        ("(212) 555-0199", "US", "+12125550199"),
        ("212.555.0199", "US", "+12125550199"),
        ("+1 212 555 0199", "ES", "+12125550199"),
        ("612 34 56 78", "ES", "+34612345678"),
        ("0034 612 345 678", "ES", "+34612345678"),
    ],
)
def test_a_typed_phone_is_read_in_the_clinics_country(typed: str, country: str, phone: str) -> None:
    terms = search_terms(typed, country)

    assert terms is not None
    assert terms.phone == phone
    assert terms.name_starts == ()  # digits are never a name


def test_a_query_with_letters_is_a_name_and_an_external_id_but_no_phone() -> None:
    terms = search_terms("  Ana-1 ", "US")

    assert terms is not None
    assert (terms.name_starts, terms.phone) == (("ana-1",), None)
    assert terms.external_ids == ("Ana-1", "ANA-1", "ana-1")


def test_a_name_start_is_looked_for_as_either_database_lowers_it() -> None:
    assert name_starts("ANA") == ("ana",)
    # SQLite lowers ASCII letters only: "Ángela" is stored lowered as "Ángela".
    assert name_starts("ángela") == ("ángela", "Ángela")
    assert name_starts("ÁNGELA") == ("ángela", "Ángela")


def test_an_empty_query_searches_nothing() -> None:
    assert search_terms("   ", "US") is None


NOW = datetime(2026, 3, 2, 15, 0).astimezone()


def facts(**changes: object) -> StatusFacts:
    values: dict[str, object] = {
        "erased": False,
        "paused": False,
        "sms_opted_out": False,
        "sms_unreachable": False,
        "telegram_unreachable": False,
        "has_phone": True,
        "telegram_linked": False,
        "treated_at": NOW,
        **changes,
    }
    return StatusFacts(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({}, PatientStatus.ACTIVE),
        ({"treated_at": NOW - SPAN - timedelta(hours=1)}, PatientStatus.COMPLETED),
        ({"treated_at": None}, PatientStatus.COMPLETED),
        ({"treated_at": None, "booked_at": NOW + SPAN}, PatientStatus.BOOKED),
        ({"treated_at": NOW - SPAN * 2, "booked_at": NOW + SPAN}, PatientStatus.BOOKED),
        ({"booked_at": NOW + SPAN}, PatientStatus.ACTIVE),  # a plan runs until the next
        ({"booked_at": NOW + SPAN, "paused": True}, PatientStatus.PAUSED),
        ({"paused": True}, PatientStatus.PAUSED),
        ({"sms_unreachable": True}, PatientStatus.UNREACHABLE),
        ({"sms_unreachable": True, "telegram_linked": True}, PatientStatus.ACTIVE),
        ({"sms_opted_out": True, "paused": True}, PatientStatus.OPTED_OUT),
        ({"sms_opted_out": True, "telegram_linked": True}, PatientStatus.ACTIVE),
        ({"erased": True, "paused": True, "sms_opted_out": True}, PatientStatus.ERASED),
    ],
)
def test_the_first_status_that_applies_is_the_patients(
    changes: dict[str, object], status: PatientStatus
) -> None:
    assert patient_status(facts(**changes), NOW - SPAN) == status


# -- on both databases ------------------------------------------------------------------


def test_pages_run_newest_first_and_back_again(core: Core, clinic: ClinicView) -> None:
    for n in range(7):
        enroll(core, clinic, f"P{n}")

    first = listing(core, clinic, limit=3)
    second = listing(core, clinic, limit=3, after=first.next)
    third = listing(core, clinic, limit=3, after=second.next)
    back = listing(core, clinic, limit=3, before=third.previous)
    start = listing(core, clinic, limit=3, before=back.previous)

    assert [ids_of(p) for p in (first, second, third)] == [
        ["P6", "P5", "P4"],
        ["P3", "P2", "P1"],
        ["P0"],
    ]
    assert first.previous is None and third.next is None
    assert ids_of(back) == ["P3", "P2", "P1"] and back.next is not None
    assert ids_of(start) == ["P6", "P5", "P4"] and start.previous is None


def test_a_page_stays_put_when_patients_are_added_meanwhile(core: Core, clinic: ClinicView) -> None:
    for n in range(4):
        enroll(core, clinic, f"P{n}")
    first = listing(core, clinic, limit=2)
    enroll(core, clinic, "NEW")

    assert ids_of(listing(core, clinic, limit=2, after=first.next)) == ["P1", "P0"]


def test_a_search_matches_the_start_of_a_name_an_external_id_or_a_phone(
    core: Core, clinic: ClinicView
) -> None:
    enroll(core, clinic, "A-1", "Mariana", "+12125550101")
    enroll(core, clinic, "A-2", "ANABEL", "+12125550102")
    enroll(core, clinic, "A-3", "Bea", "+12125550103")
    enroll(core, clinic, "mari", "Lucia", "+12125550104")
    enroll(core, clinic, "A-5", "Ana", "+12125550105")

    assert found(core, clinic, "ana") == ["A-5", "A-2"]  # by name: Ana, then ANABEL
    assert found(core, clinic, "MARI") == ["mari", "A-1"]  # the exact id first, then names
    assert found(core, clinic, "bel") == []  # the start of a name, not any part
    assert found(core, clinic, "a-3") == ["A-3"]
    assert found(core, clinic, "(212) 555-0102") == ["A-2"]
    assert found(core, clinic, "2125550103") == ["A-3"]
    assert found(core, clinic, "555") == []  # too short to be a phone; no name has digits


def test_a_name_with_an_accented_capital_is_found_however_it_is_typed(
    core: Core, clinic: ClinicView
) -> None:
    enroll(core, clinic, "P1", "Ángela")
    enroll(core, clinic, "P2", "ángel")
    enroll(core, clinic, "P3", "Angela")

    assert sorted(found(core, clinic, "ángel")) == ["P1", "P2"]
    assert sorted(found(core, clinic, "ÁNGELA")) == ["P1"]
    assert found(core, clinic, "ang") == ["P3"]


def test_wildcards_in_a_search_are_plain_characters(core: Core, clinic: ClinicView) -> None:
    enroll(core, clinic, "P1", "Anabel")
    enroll(core, clinic, "P2", "Ana_Maria")
    enroll(core, clinic, "P3", "Ana%")

    assert found(core, clinic, "%") == []
    assert found(core, clinic, "ana_") == ["P2"]
    assert found(core, clinic, "ana%") == ["P3"]


def test_name_search_pages_run_by_name_and_back_again(core: Core, clinic: ClinicView) -> None:
    for n, name in enumerate(["Ana", "Bea", "Ana", "Anabel", "Ana", "Anna", "Ana"]):
        enroll(core, clinic, f"P{n}", name)

    first = search(core, clinic, "an", limit=3)
    second = search(core, clinic, "an", limit=3, after=first.next)
    back = search(core, clinic, "an", limit=3, before=second.previous)

    assert ids_of(first) == ["P0", "P2", "P4"]  # the Anas in enrollment order
    assert ids_of(second) == ["P6", "P3", "P5"]  # the last Ana, Anabel, Anna
    assert second.next is None and first.previous is None
    assert ids_of(back) == ids_of(first) and back.previous is None
    assert first.next == Cursor(5, "ana")


def test_another_clinics_patients_never_show(core: Core, clinic: ClinicView) -> None:
    other = core.patients.add_clinic("other", "Other", "+13125550100", "America/Chicago")
    enroll(core, other, "X1", "Ana", "+12125550101")
    enroll(core, clinic, "P1", "Bea")

    assert ids_of(listing(core, clinic)) == ["P1"]
    assert found(core, clinic, "ana") == []
    assert found(core, clinic, "X1") == []
    assert found(core, clinic, "(212) 555-0101") == []


def test_each_status_filter_finds_exactly_the_patients_showing_that_status(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    expected = {
        "active": enroll(core, clinic, "active", phone="+12125550101"),
        "completed": enroll(core, clinic, "completed", phone="+12125550102", days_ago=17),
        "paused": enroll(core, clinic, "paused", phone="+12125550103"),
        "opted_out": enroll(core, clinic, "opted_out", phone="+12125550104"),
        "unreachable": enroll(core, clinic, "unreachable", phone="+12125550105"),
        "erased": enroll(core, clinic, "erased", phone="+12125550106"),
        "telegram": enroll(core, clinic, "telegram", phone="+12125550107", telegram_chat_id=7),
        "paused_and_opted_out": enroll(core, clinic, "paused_and_opted_out", phone="+1212555108"),
        "booked": enroll(core, clinic, "booked", phone="+12125550109", days_ago=-3),
        "booked_again": enroll(core, clinic, "booked_again", phone="+12125550110", days_ago=40),
        "active_and_booked": enroll(core, clinic, "active_and_booked", phone="+12125550111"),
    }
    with core.db.session() as session:
        for external_id in ("booked_again", "active_and_booked"):
            patient = session.get(Patient, expected[external_id])
            assert patient is not None
            core.planner.add_treatment(session, patient, clock.now() + SPAN, clock.now())
    with core.db.session() as session:
        for external_id, values in [
            ("paused", {"paused": True}),
            ("opted_out", {"sms_opted_out": True}),
            ("unreachable", {"sms_unreachable": True}),
            ("telegram", {"sms_opted_out": True}),  # Telegram still reaches them
            ("paused_and_opted_out", {"paused": True, "sms_opted_out": True}),
        ]:
            session.execute(
                update(Patient).where(Patient.id == expected[external_id]).values(values)
            )
    EnrollmentStore(core.db).erase(clinic.id, "erased", clock.now())

    shown = {row.external_id: row.status.value for row in listing(core, clinic).rows}
    found = {
        status.value: sorted(ids_of(listing(core, clinic, status=status)))
        for status in PatientStatus
    }

    assert shown == {
        "active": "active",
        "completed": "completed",
        "paused": "paused",
        "opted_out": "opted_out",
        "unreachable": "unreachable",
        "erased": "erased",
        "telegram": "active",
        "paused_and_opted_out": "opted_out",
        "booked": "booked",
        "booked_again": "booked",
        "active_and_booked": "active",
    }
    for status in PatientStatus:
        assert found[status.value] == sorted(k for k, v in shown.items() if v == status.value)


def test_a_row_has_the_latest_session_that_happened_and_the_next_one_booked(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    patient_id = enroll(core, clinic, "P1", days_ago=30)
    now = clock.now()
    with core.db.session() as session:
        patient = session.get(Patient, patient_id)
        assert patient is not None
        for moment in (now - timedelta(days=2), now + timedelta(days=9), now + timedelta(days=30)):
            core.planner.add_treatment(session, patient, moment, now)
        cancelled = core.planner.add_treatment(session, patient, now + timedelta(days=5), now)
    core.planner.cancel(cancelled.treatment_id)

    [row] = listing(core, clinic).rows

    assert (row.treated_at, row.booked_at) == (now - timedelta(days=2), now + timedelta(days=9))
    assert row.status == PatientStatus.ACTIVE


def test_a_search_and_a_status_filter_together(core: Core, clinic: ClinicView) -> None:
    enroll(core, clinic, "P1", "Ana")
    paused = enroll(core, clinic, "P2", "Ana")
    enroll(core, clinic, "P3", "Bea")
    core.patients.set_flag(paused, "paused")

    terms = search_terms("ana", clinic.country)
    page = listing(core, clinic, terms=terms, status=PatientStatus.ACTIVE)

    assert ids_of(page) == ["P1"]
