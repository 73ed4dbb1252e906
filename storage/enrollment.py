"""Storage for clinic enrollment: clinic profiles and keys, bulk patient updates, erasure.

New patients, treatments and reminders go through `storage.bulk`. The bulk writers here
take the caller's session too, so a whole batch commits or rolls back together. Lookups
and dry runs go through `reading()`, which never takes SQLite's write lock.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Table,
    bindparam,
    func,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from storage.bulk import driver_datetime, executemany
from storage.db import Database
from storage.models import (
    Clinic,
    Patient,
    Reminder,
    ReminderStatus,
    Treatment,
)
from storage.patients import NotFoundError, erase_patients
from storage.reading import sqlite_reader

SQLITE_BULK_CACHE_KB = 64 * 1024
UnitOfWork = Callable[[], AbstractContextManager[Session]]  # a transaction per call
PATIENTS = cast(Table, Patient.__table__)


@dataclass(frozen=True)
class ClinicProfile:
    id: int
    slug: str
    name: str
    timezone: str
    country: str
    language: str
    date_format: str | None
    column_map: dict[str, str] | None = None  # the clinic's own header names
    days_ahead: int | None = None  # how far ahead appointments may be (None: built-in)
    day_before: bool = False  # reminders before a booked treatment (the day-before one)

    @classmethod
    def of(cls, clinic: Clinic) -> ClinicProfile:
        return cls(
            clinic.id,
            clinic.slug,
            clinic.name,
            clinic.timezone,
            clinic.country,
            clinic.language,
            clinic.date_format,
            json.loads(clinic.column_map) if clinic.column_map else None,
            clinic.days_ahead,
            clinic.day_before_reminder,
        )


@dataclass(frozen=True)
class ClinicSummary:
    profile: ClinicProfile
    patients: int
    has_key: bool


@dataclass(frozen=True)
class ExistingPatient:
    id: int
    first_name: str | None
    phone: str | None
    timezone: str
    language: str
    channel: str
    erased_at: datetime | None
    telegram_linked: bool
    treatment_id: int | None  # the latest treatment not cancelled
    performed_at: datetime | None
    # appointment id -> (treatment id, performed at, cancelled): the sessions a booking
    # system named, cancelled ones included (a re-sent cancellation changes nothing).
    appointments: dict[str, tuple[int, datetime, bool]] = field(default_factory=dict)


@dataclass(frozen=True)
class ReminderView:
    milestone: str
    channel: str
    due_at: datetime
    expires_at: datetime
    status: str
    attempts: int
    sent_at: datetime | None


@dataclass(frozen=True)
class TreatmentView:
    performed_at: datetime
    registered_at: datetime
    protocol: str
    cancelled_at: datetime | None


@dataclass(frozen=True)
class PatientDetail:
    external_id: str
    first_name: str | None
    phone: str | None
    telegram_linked: bool
    timezone: str
    language: str
    channel: str
    paused: bool
    sms_opted_out: bool
    created_at: datetime
    erased_at: datetime | None
    treatments: list[TreatmentView]
    reminders: list[ReminderView]


class EnrollmentStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._sqlite_reader = sqlite_reader(db)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A unit of work that only reads and never waits for, or holds, the write lock.

        Every transaction of `db` starts with SQLite's BEGIN IMMEDIATE (the write lock), so a
        long read there would hold up reminder dispatch. This one runs on its own connection
        with a plain (deferred) BEGIN: in WAL mode it reads a snapshot while writers carry on,
        and `query_only` makes any write a mistake that fails instead of a lock that waits.
        On PostgreSQL, a READ ONLY transaction.
        """
        engine = self._sqlite_reader
        if engine is None:
            with self.db.session() as session:
                if self.db.dialect == "postgresql":
                    session.execute(text("SET TRANSACTION READ ONLY"))
                yield session
            return
        with Session(engine) as session, session.begin():
            yield session

    # -- clinics and keys ---------------------------------------------------------------------

    def profile(self, slug: str) -> ClinicProfile:
        with self.reading() as session:
            clinic = session.scalar(select(Clinic).where(Clinic.slug == slug))
            if clinic is None:
                raise NotFoundError(f"no clinic {slug!r}")
            return ClinicProfile.of(clinic)

    def profile_for_key_hash(self, key_hash: str) -> ClinicProfile | None:
        with self.reading() as session:
            clinic = session.scalar(select(Clinic).where(Clinic.api_key_hash == key_hash))
            return ClinicProfile.of(clinic) if clinic is not None else None

    def api_key_hashes(self) -> frozenset[str]:
        """Every clinic's current key hash (a few bytes per clinic)."""
        with self.db.session() as session:
            stored = session.scalars(select(Clinic.api_key_hash))
            return frozenset(key_hash for key_hash in stored if key_hash)

    def set_key_hash(self, slug: str, key_hash: str) -> None:
        """Replace the clinic's key: the old one stops working when this commits."""
        with self.db.session() as session:
            changed = session.execute(
                update(Clinic).where(Clinic.slug == slug).values(api_key_hash=key_hash)
            ).rowcount  # type: ignore[attr-defined]
            if not changed:
                raise NotFoundError(f"no clinic {slug!r}")

    def set_date_format(self, slug: str, date_format: str | None) -> None:
        with self.db.session() as session:
            changed = session.execute(
                update(Clinic).where(Clinic.slug == slug).values(date_format=date_format)
            ).rowcount  # type: ignore[attr-defined]
            if not changed:
                raise NotFoundError(f"no clinic {slug!r}")

    def summaries(self) -> list[ClinicSummary]:
        with self.reading() as session:
            counts: dict[int, int] = {
                clinic_id: count
                for clinic_id, count in session.execute(
                    select(Patient.clinic_id, func.count())
                    .where(Patient.erased_at.is_(None))
                    .group_by(Patient.clinic_id)
                )
            }
            return [
                ClinicSummary(ClinicProfile.of(c), counts.get(c.id, 0), c.api_key_hash is not None)
                for c in session.scalars(select(Clinic).order_by(Clinic.slug))
            ]

    # -- bulk enrollment (inside the caller's transaction) --------------------------------------

    @contextmanager
    def import_batches(self) -> Iterator[UnitOfWork]:
        """Transactions for one import's batches, all on one connection: call the yielded
        function for each batch's unit of work (committed when its block ends).

        On SQLite the write-ahead log is not checkpointed after each batch's commit but once
        when the import ends: each checkpoint copied the same reminder index pages into the
        database again, and waited for the disk to take them. The end's checkpoint is
        PASSIVE (it never waits for readers); running engines' own commits checkpoint as
        usual meanwhile."""
        with self.db.engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            raw: Any = connection.connection.driver_connection
            previous = 0
            if sqlite:  # outside any transaction: the driver connection is in autocommit
                previous = int(raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
                raw.execute("PRAGMA wal_autocheckpoint=0")

            @contextmanager
            def batch() -> Iterator[Session]:
                with Session(bind=connection, expire_on_commit=False) as session, session.begin():
                    yield session

            try:
                yield batch
            finally:
                if sqlite:
                    raw.execute(f"PRAGMA wal_autocheckpoint={previous}")
            if sqlite:
                # Best effort: a statement left open would make it fail; the next commit's
                # automatic checkpoint does it then.
                with suppress(sqlite3.OperationalError):
                    raw.execute("PRAGMA wal_checkpoint(PASSIVE)")

    @staticmethod
    def prepare_bulk(session: Session) -> None:
        """A bigger SQLite page cache for this connection: the reminder indexes of a large
        import no longer fit the default 2 MB, and evicting them costs more than the writes."""
        connection = session.connection()
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_BULK_CACHE_KB}")

    @staticmethod
    def existing(
        session: Session, clinic_id: int, external_ids: Sequence[str]
    ) -> dict[str, ExistingPatient]:
        """The clinic's patients among `external_ids`, with their latest active treatment."""
        if not external_ids:
            return {}
        rows = session.execute(
            select(
                Patient.external_id,
                Patient.id,
                Patient.first_name,
                Patient.phone,
                Patient.timezone,
                Patient.language,
                Patient.channel,
                Patient.erased_at,
                Patient.telegram_chat_id.is_not(None),
                Treatment.id,
                Treatment.performed_at,
                Treatment.cancelled_at,
                Treatment.appointment_id,
            )
            .outerjoin(Treatment, Treatment.patient_id == Patient.id)
            .where(Patient.clinic_id == clinic_id, Patient.external_id.in_(external_ids))
            .order_by(Treatment.id)
        )
        found: dict[str, ExistingPatient] = {}
        for (
            external_id,
            pid,
            first_name,
            phone,
            timezone,
            language,
            channel,
            erased_at,
            linked,
            tid,
            performed,
            cancelled_at,
            appointment_id,
        ) in rows:
            known = found.get(external_id)
            if known is None or cancelled_at is None:  # later active treatments win
                active = cancelled_at is None
                earlier = known.appointments if known is not None else {}
                known = found[external_id] = ExistingPatient(
                    pid,
                    first_name,
                    phone,
                    timezone,
                    language,
                    channel,
                    erased_at,
                    linked,
                    treatment_id=tid if active else None,
                    performed_at=performed if active else None,
                    appointments=earlier,
                )
            if appointment_id is not None:
                known.appointments[appointment_id] = (tid, performed, cancelled_at is not None)
        return found

    @staticmethod
    def insert_invites(
        session: Session, rows: list[tuple[int, str]], now: datetime, expires_at: datetime
    ) -> None:
        """(patient id, token hash) pairs."""
        if not rows:
            return
        stamp = driver_datetime(session.connection().dialect)
        created, expires = stamp(now), stamp(expires_at)
        executemany(
            session,
            "invite",
            "patient_id, token_hash, expires_at, created_at",
            [(pid, digest, expires, created) for pid, digest in rows],
        )

    @staticmethod
    def update_patients(
        session: Session, rows: list[dict[str, Any]], columns: Iterable[str]
    ) -> None:
        """`rows` carry `b_id` and one `b_<column>` per column."""
        if not rows:
            return
        values = {c: bindparam(f"b_{c}", type_=PATIENTS.c[c].type) for c in columns}
        values["updated_at"] = bindparam("b_updated_at", type_=PATIENTS.c.updated_at.type)
        session.connection().execute(
            update(PATIENTS).where(PATIENTS.c.id == bindparam("b_id")).values(values), rows
        )

    @staticmethod
    def reroute_pending(session: Session, patient_id: int, channel: str) -> None:
        session.execute(
            update(Reminder)
            .where(Reminder.patient_id == patient_id, Reminder.status == ReminderStatus.PENDING)
            .values(channel=channel)
            .execution_options(synchronize_session=False)
        )

    # -- the API ------------------------------------------------------------------------------

    def patient_detail(self, clinic_id: int, external_id: str) -> PatientDetail | None:
        with self.reading() as session:
            patient = _patient(session, clinic_id, external_id)
            if patient is None:
                return None
            treatments = session.scalars(
                select(Treatment).where(Treatment.patient_id == patient.id).order_by(Treatment.id)
            )
            reminders = session.scalars(
                select(Reminder)
                .where(Reminder.patient_id == patient.id)
                .order_by(Reminder.due_at, Reminder.id)
            )
            return PatientDetail(
                external_id=patient.external_id,
                first_name=patient.first_name,
                phone=patient.phone,
                telegram_linked=patient.telegram_chat_id is not None,
                timezone=patient.timezone,
                language=patient.language,
                channel=patient.channel,
                paused=patient.paused,
                sms_opted_out=patient.sms_opted_out,
                created_at=patient.created_at,
                erased_at=patient.erased_at,
                treatments=[
                    TreatmentView(t.performed_at, t.registered_at, t.protocol, t.cancelled_at)
                    for t in treatments
                ],
                reminders=[
                    ReminderView(
                        r.milestone,
                        r.channel,
                        r.due_at,
                        r.expires_at,
                        r.status,
                        r.attempts,
                        r.sent_at,
                    )
                    for r in reminders
                ],
            )

    def erase(self, clinic_id: int, external_id: str, now: datetime) -> tuple[datetime, int] | None:
        """Remove the patient's personal data and stop their reminders.

        Returns (erased_at, reminders cancelled), or None when the clinic has no such patient.
        The row and its external id stay, so a later re-import is recognised and refused.
        """
        with self.db.session() as session:
            patient = _patient(session, clinic_id, external_id)
            if patient is None:
                return None
            cancelled = erase_patients(session, [patient.id], now)
            session.refresh(patient)
            assert patient.erased_at is not None
            return patient.erased_at, cancelled


def _patient(session: Session, clinic_id: int, external_id: str) -> Patient | None:
    return session.scalar(
        select(Patient).where(Patient.clinic_id == clinic_id, Patient.external_id == external_id)
    )
