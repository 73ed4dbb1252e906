"""Clinics, patients and what providers tell us about them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import (
    Clinic,
    Conversation,
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
        with self._db.session() as session:
            if session.scalar(select(Clinic.id).where(Clinic.slug == slug)) is not None:
                raise DuplicateError(f"clinic {slug!r} already exists")
            clinic = Clinic(
                slug=slug,
                name=name,
                phone=phone,
                timezone=timezone,
                country=country,
                language=language,
                api_key_hash=api_key_hash,
            )
            session.add(clinic)
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


def current_treatment(session: Session, patient_id: int) -> Treatment | None:
    """The patient's latest treatment that was not cancelled: the one reminders follow."""
    return session.scalars(
        select(Treatment)
        .where(Treatment.patient_id == patient_id, Treatment.cancelled_at.is_(None))
        .order_by(Treatment.performed_at.desc(), Treatment.id.desc())
        .limit(1)
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
