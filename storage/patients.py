"""Clinics, patients and what providers tell us about them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storage.clinic_fields import check_clinic
from storage.db import Database
from storage.models import (
    Clinic,
    Conversation,
    Escalation,
    InboundMessage,
    Invite,
    Patient,
    Reminder,
    ReminderStatus,
    Treatment,
)

PATIENT_FLAGS = frozenset({"sms_opted_out", "sms_unreachable", "telegram_unreachable", "paused"})


class DuplicateError(ValueError):
    """The thing already exists."""


class NotFoundError(LookupError):
    """No such clinic or patient."""


@dataclass(frozen=True)
class ClinicView:
    id: int
    slug: str
    name: str
    phone: str
    timezone: str
    country: str
    language: str

    @classmethod
    def of(cls, clinic: Clinic) -> ClinicView:
        return cls(
            clinic.id,
            clinic.slug,
            clinic.name,
            clinic.phone,
            clinic.timezone,
            clinic.country,
            clinic.language,
        )


class PatientRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add_clinic(
        self,
        slug: str,
        name: str,
        phone: str,
        timezone: str,
        country: str = "US",
        language: str = "en",
        api_key_hash: str | None = None,
    ) -> ClinicView:
        """Raises ClinicFieldError for a bad value, DuplicateError for a slug in use.

        Here the phone must have a dialable length for its country code. Whether the number
        is assigned is asked where a person types it (the CLI): the numbering plan changes
        between library versions, and a stored record must not become unwritable by that.
        """
        fields = check_clinic(
            slug, name, phone, timezone, country, language, require_assigned_phone=False
        )
        with self._db.session() as session:
            if session.scalar(select(Clinic.id).where(Clinic.slug == fields.slug)) is not None:
                raise DuplicateError(f"clinic {fields.slug!r} already exists")
            clinic = Clinic(
                slug=fields.slug,
                name=fields.name,
                phone=fields.phone,
                timezone=fields.timezone,
                country=fields.country,
                language=fields.language,
                api_key_hash=api_key_hash,
            )
            session.add(clinic)
            session.flush()
            return ClinicView.of(clinic)

    def update_clinic(
        self,
        slug: str,
        *,
        name: str | None = None,
        phone: str | None = None,
        timezone: str | None = None,
        country: str | None = None,
        language: str | None = None,
    ) -> ClinicView:
        """Change some of a clinic's settings; the result is checked as a whole.

        A new country alone re-reads the stored phone in it, so the pair stays consistent.
        """
        with self._db.session() as session:
            clinic = session.scalar(select(Clinic).where(Clinic.slug == slug).with_for_update())
            if clinic is None:
                raise NotFoundError(f"no clinic {slug!r}")
            fields = check_clinic(
                clinic.slug,
                name if name is not None else clinic.name,
                phone if phone is not None else clinic.phone,
                timezone if timezone is not None else clinic.timezone,
                country if country is not None else clinic.country,
                language if language is not None else clinic.language,
                require_assigned_phone=False,
            )
            clinic.name = fields.name
            clinic.phone = fields.phone
            clinic.timezone = fields.timezone
            clinic.country = fields.country
            clinic.language = fields.language
            session.flush()
            return ClinicView.of(clinic)

    def clinic(self, slug: str) -> ClinicView:
        with self._db.session() as session:
            clinic = session.scalar(select(Clinic).where(Clinic.slug == slug))
            if clinic is None:
                raise NotFoundError(f"no clinic {slug!r}")
            return ClinicView.of(clinic)

    def clinics(self) -> list[ClinicView]:
        with self._db.session() as session:
            return [ClinicView.of(c) for c in session.scalars(select(Clinic).order_by(Clinic.slug))]

    def set_flag(self, patient_id: int, field: str, value: bool = True) -> None:
        if field not in PATIENT_FLAGS:
            raise ValueError(f"unknown patient flag {field!r}")
        with self._db.session() as session:
            session.execute(update(Patient).where(Patient.id == patient_id).values({field: value}))

    def prune_inbound(self, before: datetime) -> int:
        with self._db.session() as session:
            result = session.execute(
                delete(InboundMessage).where(InboundMessage.received_at < before)
            )
        return int(result.rowcount)  # type: ignore[attr-defined]


def current_treatment(
    session: Session, patient_id: int, now: datetime | None = None
) -> Treatment | None:
    """The patient's latest treatment that was not cancelled. With `now`, the latest that
    has happened by then (a session booked ahead is not the one the patient asks about),
    or the next one when none has happened yet."""
    query = select(Treatment).where(
        Treatment.patient_id == patient_id, Treatment.cancelled_at.is_(None)
    )
    if now is not None:
        happened = session.scalars(
            query.where(Treatment.performed_at <= now)
            .order_by(Treatment.performed_at.desc(), Treatment.id.desc())
            .limit(1)
        ).first()
        if happened is not None:
            return happened
    return session.scalars(
        query.order_by(Treatment.performed_at.desc(), Treatment.id.desc()).limit(1)
    ).first()


def erase_patients(session: Session, ids: Sequence[int], now: datetime) -> int:
    """Erase these patients inside the caller's transaction; returns reminders cancelled.

    Personal data, message texts and unused invites go; open treatments and reminders not
    yet handed to a provider are cancelled. The rows stay, without personal data, so a
    clinic's counts stay right and a re-import of the same external id is recognised.
    """
    if not ids:
        return 0
    cancelled = session.execute(
        update(Reminder)
        .where(
            Reminder.patient_id.in_(ids),
            # A reminder already handed to a provider (sending) cannot be recalled; clearing
            # the claim makes an engine's late outcome for these rows a no-op.
            Reminder.status.in_([ReminderStatus.PENDING, ReminderStatus.CLAIMED]),
        )
        .values(
            status=ReminderStatus.CANCELLED,
            claimed_by=None,
            lease_until=None,
            last_error="patient erased",
        )
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    session.execute(
        update(Treatment)
        .where(Treatment.patient_id.in_(ids), Treatment.cancelled_at.is_(None))
        .values(cancelled_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Conversation)
        .where(Conversation.patient_id.in_(ids))
        .values(inbound_text=None, reply_text=None)
        .execution_options(synchronize_session=False)
    )
    # Staff replies carry their own text (other reminders are rendered when sent), and a
    # resolved escalation may carry a note about the patient.
    session.execute(
        update(Reminder)
        .where(Reminder.patient_id.in_(ids), Reminder.body.is_not(None))
        .values(body=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Escalation)
        .where(Escalation.patient_id.in_(ids), Escalation.resolution_note.is_not(None))
        .values(resolution_note=None)
        .execution_options(synchronize_session=False)
    )
    # An unused invite could otherwise attach a new chat to the erased record.
    session.execute(
        update(Invite)
        .where(Invite.patient_id.in_(ids), Invite.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Patient)
        .where(Patient.id.in_(ids))
        .values(
            first_name=None,
            phone=None,
            telegram_chat_id=None,
            paused=True,
            erased_at=func.coalesce(Patient.erased_at, now),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return int(cancelled)
