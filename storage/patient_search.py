"""The clinic's patient list: search, a status filter and pages of a stable order. Reads only.

Without a name to look for, the list runs newest enrolled first (patient id descending); a
name search runs in alphabetical order of first names. Either way it comes a page at a
time by keyset: `after` continues past the last row shown, `before` goes back before the
first. A page costs the same on page 1 and on page 2,000, and rows added meanwhile never
shift one. Every query reads along an index (migration 0011), so a search finds its one
patient among 100,000 without reading the others.

A search (`?q=`) matches:

- an external id exactly (as typed, upper- or lower-cased);
- a phone number written in any common format (read in the clinic's country, then
  compared in E.164);
- when it has letters, the start of the first name, in any case. SQLite's lower() knows
  only ASCII letters, so the start is also looked for with its first letter capitalised:
  "ángela" finds "Ángela" on both databases.

The exact matches (id, phone) come first, on the first page, then the names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Engine,
    Integer,
    ScalarSelect,
    Select,
    String,
    and_,
    func,
    literal,
    not_,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from storage.clinic_fields import normalise_phone
from storage.db import Database
from storage.models import Patient, Treatment
from storage.patient_status import PatientStatus, facts_of, patient_status, status_condition
from storage.reading import read_only_engine

PAGE_SIZE: Final = 50
QUERY_MAX: Final = 100  # characters of a search kept (a name or a phone is far shorter)
MIN_PHONE_DIGITS: Final = 6
_PHONE_LIKE = re.compile(r"[+\d\s().\-/]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


# A patient, their latest session's time, their next booked session's, their name key
# (see name_key).
Listing = Select[Patient, datetime, datetime, str]
Orderable = ColumnElement[Any] | InstrumentedAttribute[Any]


@dataclass(frozen=True)
class SearchTerms:
    """What one search box query is compared with."""

    text: str
    external_ids: tuple[str, ...]
    phone: str | None  # E.164, when the text reads as a phone number
    name_starts: tuple[str, ...]  # lower-cased starts of a first name (when it has letters)


def name_starts(text: str) -> tuple[str, ...]:
    """The lower-cased forms a name starting with `text` may have in the database: lowered
    fully (PostgreSQL's lower()) or in ASCII only (SQLite's), as typed or capitalised. Pure."""
    capitalised = text[:1].upper() + text[1:].lower()
    forms = (text.lower(), text.translate(_ASCII_LOWER), capitalised.translate(_ASCII_LOWER))
    return tuple(dict.fromkeys(forms))


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
    starts = name_starts(text) if any(ch.isalpha() for ch in text) else ()
    return SearchTerms(text, external_ids, phone, starts)


def _just_after(start: str) -> str | None:
    """The smallest text after every text beginning with `start`, in code point order
    (None: there is none)."""
    for cut in range(len(start), 0, -1):
        last = ord(start[cut - 1])
        if last < 0x10FFFF:
            return start[: cut - 1] + chr(last + 1)
    return None


@dataclass(frozen=True)
class Cursor:
    """Where a page starts or ends: a patient, and their name key in a name search."""

    id: int
    name: str | None = None


@dataclass(frozen=True)
class PatientQuery:
    completed_before: datetime  # see storage.patient_status.patient_status
    now: datetime  # sessions after it are booked ahead
    terms: SearchTerms | None = None
    status: PatientStatus | None = None
    after: Cursor | None = None  # the page after this row (the "next" link)
    before: Cursor | None = None  # the page before this row (the "previous" link)
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
    treated_at: datetime | None  # the latest session that has happened
    booked_at: datetime | None  # the next session booked ahead
    created_at: datetime


@dataclass(frozen=True)
class PatientPage:
    rows: list[PatientRow]
    previous: Cursor | None  # None on the first page
    next: Cursor | None  # None on the last page


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A unit of work that only reads (on storage.reading's engine: on SQLite it never
    takes the write lock, so a search does not hold up dispatch)."""
    with Session(engine) as session, session.begin():
        yield session


def name_key(dialect: str) -> ColumnElement[str]:
    """The indexed form of the first name (migration 0011). PostgreSQL compares it in the
    "C" collation: code point order, the order the prefix ranges assume."""
    lowered = func.lower(Patient.first_name)
    return lowered.collate("C") if dialect == "postgresql" else lowered


class PatientSearch:
    def __init__(self, db: Database) -> None:
        self._engine = read_only_engine(db)

    def page(self, clinic_id: int, query: PatientQuery) -> PatientPage:
        with reading(self._engine) as session:
            key = name_key(session.get_bind().dialect.name)
            statement = _rows(clinic_id, query, key)
            terms = query.terms
            exact = _exact_ids(session, clinic_id, terms) if terms is not None else []
            if terms is None or not terms.name_starts:
                if terms is not None:
                    statement = statement.where(Patient.id.in_(exact))
                return _paged(session, statement, query, (Patient.id,), descending=True)
            ranges = []
            for start in terms.name_starts:
                end = _just_after(start)
                ranges.append(and_(key >= start, key < end) if end is not None else key >= start)
            named = statement.where(or_(*ranges), Patient.id.not_in(exact))
            page = _paged(session, named, query, (key, Patient.id), descending=False)
            if query.after is not None or query.before is not None or not exact:
                return page
            pinned = session.execute(
                statement.where(Patient.id.in_(exact)).order_by(Patient.id.desc())
            )
            first = [_row(found, query.completed_before) for found in pinned]
            return PatientPage(first + page.rows, page.previous, page.next)


def _rows(clinic_id: int, query: PatientQuery, key: ColumnElement[str]) -> Listing:
    def session_time(latest: bool) -> ScalarSelect[datetime]:
        happened = Treatment.performed_at <= query.now
        return (
            select(func.max(Treatment.performed_at) if latest else func.min(Treatment.performed_at))
            .where(
                Treatment.patient_id == Patient.id,
                Treatment.cancelled_at.is_(None),
                happened if latest else not_(happened),
            )
            .correlate(Patient)
            .scalar_subquery()
        )

    statement = select(Patient, session_time(True), session_time(False), key).where(
        Patient.clinic_id == clinic_id
    )
    if query.status is not None:
        condition = status_condition(query.status, query.completed_before, query.now)
        statement = statement.where(condition)
    return statement


def _paged(
    session: Session,
    statement: Listing,
    query: PatientQuery,
    order: Sequence[Orderable],
    *,
    descending: bool,
) -> PatientPage:
    """One page of `statement` in `order` (all ascending or all descending), from the
    query's cursor: `after` reads on past it, `before` reads back from it."""
    named = len(order) == 2
    backwards = query.before is not None and query.after is None
    cursor = query.after if query.after is not None else query.before
    if cursor is not None:
        greater = descending == backwards  # list order runs up, and we read on; or the reverse
        statement = statement.where(_beyond(order, cursor, greater))
    upwards = descending == backwards
    statement = statement.order_by(*(c if upwards else c.desc() for c in order))
    found = list(session.execute(statement.limit(query.limit + 1)))
    more = len(found) > query.limit
    shown = found[: query.limit]
    if backwards:
        shown.reverse()
    if not shown:
        return PatientPage([], None, None)
    rows = [_row(result, query.completed_before) for result in shown]
    first, last = _cursor(shown[0], named), _cursor(shown[-1], named)
    if backwards:
        return PatientPage(rows, first if more else None, last)
    return PatientPage(rows, first if query.after is not None else None, last if more else None)


def _beyond(order: Sequence[Orderable], cursor: Cursor, greater: bool) -> ColumnElement[bool]:
    """Rows whose position in `order` is greater (or less) than the cursor's row."""
    if len(order) == 1:
        return order[0] > cursor.id if greater else order[0] < cursor.id
    # A row value: (name, id) > (?, ?) reads along the (clinic, name, id) index.
    here = tuple_(*order)
    there = tuple_(literal(cursor.name or "", String()), literal(cursor.id, Integer()))
    return here > there if greater else here < there


def _cursor(result: Any, named: bool) -> Cursor:
    patient, _treated_at, _booked_at, key = result
    return Cursor(patient.id, key if named else None)


def _row(result: Any, completed_before: datetime) -> PatientRow:
    patient, treated_at, booked_at, _key = result
    return PatientRow(
        id=patient.id,
        external_id=patient.external_id,
        first_name=patient.first_name,
        phone=patient.phone,
        channel=patient.channel,
        telegram_linked=patient.telegram_chat_id is not None,
        status=patient_status(facts_of(patient, treated_at, booked_at), completed_before),
        treated_at=treated_at,
        booked_at=booked_at,
        created_at=patient.created_at,
    )


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
