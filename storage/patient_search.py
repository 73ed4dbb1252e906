"""The clinic's patient list: search, a status filter and pages of a stable order. Reads only.

Newest enrolled first (patient id descending), a page at a time by keyset: `older_than`
continues after the last row shown, `newer_than` goes back before the first. A page costs
the same on page 1 and page 2,000, and rows added meanwhile never shift a page.

A search (`?q=`) matches an external id exactly (in the case typed, upper or lower), a
phone number written in any common format (read in the clinic's country, then compared in
E.164) and, when it has letters, part of the first name (case-insensitive; on SQLite for
ASCII letters only, as SQLite's LIKE and lower() know no other case rules).

Each patient has one status, the first of these that applies (`patient_status`):

- erased: their personal data was erased;
- opted out: they texted STOP and Telegram cannot reach them either;
- unreachable: a provider told us a channel cannot reach them, and none can;
- paused: reminders paused (by the patient's /stop on Telegram or by the clinic);
- active: their current treatment's aftercare is still running;
- completed: it is over (or the treatment was cancelled).

The filter and the status shown come from the same definitions, in SQL and in Python.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from sqlalchemy import ColumnElement, Engine, and_, exists, func, not_, or_, select, true
from sqlalchemy.orm import Session

from storage.clinic_fields import normalise_phone
from storage.db import Database
from storage.models import Patient, Treatment
from storage.reading import read_only_engine

PAGE_SIZE: Final = 50
QUERY_MAX: Final = 100  # characters of a search kept (a name or a phone is far shorter)
MIN_PHONE_DIGITS: Final = 6
_PHONE_LIKE = re.compile(r"[+\d\s().\-/]+")


class PatientStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    PAUSED = "paused"
    OPTED_OUT = "opted_out"
    UNREACHABLE = "unreachable"
    ERASED = "erased"


@dataclass(frozen=True)
class StatusFacts:
    """What a patient's status is decided from."""

    erased: bool
    paused: bool
    sms_opted_out: bool
    sms_unreachable: bool
    telegram_unreachable: bool
    has_phone: bool
    telegram_linked: bool
    treated_at: datetime | None  # the current (latest, not cancelled) treatment


def patient_status(facts: StatusFacts, completed_before: datetime) -> PatientStatus:
    """The first status that applies. `completed_before`: a treatment performed before
    this instant has nothing left to send (now minus the protocol's span). Pure."""
    sms_ok = facts.has_phone and not facts.sms_unreachable and not facts.sms_opted_out
    telegram_ok = facts.telegram_linked and not facts.telegram_unreachable
    if facts.erased:
        return PatientStatus.ERASED
    if facts.sms_opted_out and not telegram_ok:
        return PatientStatus.OPTED_OUT
    if (facts.sms_unreachable or facts.telegram_unreachable) and not sms_ok and not telegram_ok:
        return PatientStatus.UNREACHABLE
    if facts.paused:
        return PatientStatus.PAUSED
    if facts.treated_at is not None and facts.treated_at >= completed_before:
        return PatientStatus.ACTIVE
    return PatientStatus.COMPLETED


def _status_conditions(
    completed_before: datetime,
) -> list[tuple[PatientStatus, ColumnElement[bool]]]:
    """`patient_status` in SQL, in the same order: a status applies when its own condition
    holds and none of the earlier ones does."""
    sms_ok = and_(
        Patient.phone.is_not(None), not_(Patient.sms_unreachable), not_(Patient.sms_opted_out)
    )
    telegram_ok = and_(Patient.telegram_chat_id.is_not(None), not_(Patient.telegram_unreachable))
    running = (
        exists()
        .where(
            Treatment.patient_id == Patient.id,
            Treatment.cancelled_at.is_(None),
            Treatment.performed_at >= completed_before,
        )
        .correlate(Patient)
    )
    return [
        (PatientStatus.ERASED, Patient.erased_at.is_not(None)),
        (PatientStatus.OPTED_OUT, and_(Patient.sms_opted_out, not_(telegram_ok))),
        (
            PatientStatus.UNREACHABLE,
            and_(
                or_(Patient.sms_unreachable, Patient.telegram_unreachable),
                not_(sms_ok),
                not_(telegram_ok),
            ),
        ),
        (PatientStatus.PAUSED, Patient.paused.is_(True)),
        (PatientStatus.ACTIVE, running),
        (PatientStatus.COMPLETED, true()),
    ]


def status_condition(status: PatientStatus, completed_before: datetime) -> ColumnElement[bool]:
    earlier: list[ColumnElement[bool]] = []
    for candidate, condition in _status_conditions(completed_before):
        if candidate == status:
            return and_(*(not_(c) for c in earlier), condition)
        earlier.append(condition)
    raise ValueError(f"unknown patient status {status!r}")


@dataclass(frozen=True)
class SearchTerms:
    """What one search box query is compared with."""

    text: str
    external_ids: tuple[str, ...]
    phone: str | None  # E.164, when the text reads as a phone number
    name: str | None  # part of a first name, when the text has letters


def search_terms(query: str, country: str) -> SearchTerms | None:
    """How a typed query is matched; None for an empty one. Pure."""
    text = query.strip()[:QUERY_MAX]
    if not text:
        return None
    external_ids = tuple(dict.fromkeys((text, text.upper(), text.lower())))
    phone = None
    digits = sum(ch.isdigit() for ch in text)
    if digits >= MIN_PHONE_DIGITS and _PHONE_LIKE.fullmatch(text):
        try:
            phone = normalise_phone(text, country, require_assigned=False)
        except ValueError:
            phone = None
    name = text if any(ch.isalpha() for ch in text) else None
    return SearchTerms(text, external_ids, phone, name)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _exact_ids(session: Session, clinic_id: int, terms: SearchTerms) -> list[int]:
    """Patients whose external id or phone is what was typed: index lookups, asked on their
    own so that the database never trades them for a scan in list order."""
    found = set(
        session.scalars(
            select(Patient.id).where(
                Patient.clinic_id == clinic_id, Patient.external_id.in_(terms.external_ids)
            )
        )
    )
    if terms.phone is not None:
        # By phone alone (a number is shared by few patients, whatever the clinic): asked
        # with the clinic too, SQLite would rather walk the clinic's list index.
        found.update(
            patient_id
            for patient_id, owner in session.execute(
                select(Patient.id, Patient.clinic_id).where(Patient.phone == terms.phone)
            )
            if owner == clinic_id
        )
    return sorted(found)


def _name_condition(session: Session, name: str) -> ColumnElement[bool]:
    pattern = f"%{_escape_like(name)}%"
    if session.get_bind().dialect.name == "sqlite":
        # SQLite's LIKE ignores ASCII case itself; ilike() would add lower() on both sides.
        return Patient.first_name.like(pattern, escape="\\")
    return Patient.first_name.ilike(pattern, escape="\\")


@dataclass(frozen=True)
class PatientQuery:
    completed_before: datetime  # see patient_status
    terms: SearchTerms | None = None
    status: PatientStatus | None = None
    older_than: int | None = None  # a patient id: the page after it (the "next" link)
    newer_than: int | None = None  # the page before it (the "previous" link)
    limit: int = PAGE_SIZE


@dataclass(frozen=True)
class PatientRow:
    id: int
    external_id: str
    first_name: str | None
    phone: str | None
    channel: str
    telegram_linked: bool
    status: PatientStatus
    treated_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class PatientPage:
    rows: list[PatientRow]
    newer_than: int | None  # cursor of the previous page, None on the first one
    older_than: int | None  # cursor of the next page, None on the last one


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A unit of work that only reads (on storage.reading's engine: on SQLite it never
    takes the write lock, so a search does not hold up dispatch)."""
    with Session(engine) as session, session.begin():
        yield session


class PatientSearch:
    def __init__(self, db: Database) -> None:
        self._engine = read_only_engine(db)

    def page(self, clinic_id: int, query: PatientQuery) -> PatientPage:
        treated_at = (
            select(func.max(Treatment.performed_at))
            .where(Treatment.patient_id == Patient.id, Treatment.cancelled_at.is_(None))
            .correlate(Patient)
            .scalar_subquery()
        )
        statement = select(Patient, treated_at).where(Patient.clinic_id == clinic_id)
        if query.status is not None:
            statement = statement.where(status_condition(query.status, query.completed_before))
        backwards = query.newer_than is not None and query.older_than is None
        if backwards:
            statement = statement.where(Patient.id > query.newer_than).order_by(Patient.id)
        else:
            if query.older_than is not None:
                statement = statement.where(Patient.id < query.older_than)
            statement = statement.order_by(Patient.id.desc())
        with reading(self._engine) as session:
            if query.terms is not None:
                matches: ColumnElement[bool] = Patient.id.in_(
                    _exact_ids(session, clinic_id, query.terms)
                )
                if query.terms.name is not None:
                    matches = or_(matches, _name_condition(session, query.terms.name))
                statement = statement.where(matches)
            found = [
                _row(patient, treated, query.completed_before)
                for patient, treated in session.execute(statement.limit(query.limit + 1))
            ]
        more = len(found) > query.limit
        rows = found[: query.limit]
        if backwards:
            rows.reverse()
        if not rows:
            return PatientPage([], None, None)
        if backwards:
            return PatientPage(rows, rows[0].id if more else None, rows[-1].id)
        newer = rows[0].id if query.older_than is not None else None
        return PatientPage(rows, newer, rows[-1].id if more else None)


def facts_of(patient: Patient, treated_at: datetime | None) -> StatusFacts:
    return StatusFacts(
        erased=patient.erased_at is not None,
        paused=patient.paused,
        sms_opted_out=patient.sms_opted_out,
        sms_unreachable=patient.sms_unreachable,
        telegram_unreachable=patient.telegram_unreachable,
        has_phone=patient.phone is not None,
        telegram_linked=patient.telegram_chat_id is not None,
        treated_at=treated_at,
    )


def _row(patient: Patient, treated_at: datetime | None, completed_before: datetime) -> PatientRow:
    return PatientRow(
        id=patient.id,
        external_id=patient.external_id,
        first_name=patient.first_name,
        phone=patient.phone,
        channel=patient.channel,
        telegram_linked=patient.telegram_chat_id is not None,
        status=patient_status(facts_of(patient, treated_at), completed_before),
        treated_at=treated_at,
        created_at=patient.created_at,
    )
