"""What the conversation core reads and writes: who is writing, and what was said and done."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.checkins import CheckinAnswerRow, SentCheckin, add_answer, latest_sent_checkin
from storage.db import Database
from storage.models import AlertWindow, Clinic, Conversation, Escalation, InboundMessage, Patient
from storage.patients import current_treatment

InboundId = tuple[str, str]  # (provider, the provider's message id)


@dataclass(frozen=True)
class Sender:
    """A registered patient, their current treatment and their clinic's contact details."""

    patient_id: int
    clinic_id: int
    clinic_slug: str
    clinic_name: str
    clinic_phone: str
    first_name: str | None
    language: str
    timezone: str
    treated_at: datetime | None
    protocol: str | None
    staff_telegram_chat_id: int | None
    staff_sms_number: str | None


@dataclass(frozen=True)
class Recorded:
    conversation_id: int
    escalation_id: int | None
    alert_due: bool  # False when the clinic heard about this patient and sign recently


class ConversationRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def sender(self, patient_id: int, now: datetime | None = None) -> Sender | None:
        """The patient behind a message; None if unknown or erased (then answered as a
        stranger: general answers, no clinic alert). `now`: answers speak of the latest
        session that has happened by then, not of one booked ahead."""
        with self._db.session() as session:
            row = session.execute(
                select(Patient, Clinic)
                .join(Clinic, Clinic.id == Patient.clinic_id)
                .where(Patient.id == patient_id, Patient.erased_at.is_(None))
            ).first()
            if row is None:
                return None
            patient, clinic = row
            treatment = current_treatment(session, patient_id, now)
            return Sender(
                patient_id=patient.id,
                clinic_id=clinic.id,
                clinic_slug=clinic.slug,
                clinic_name=clinic.name,
                clinic_phone=clinic.phone,
                first_name=patient.first_name,
                language=patient.language,
                timezone=patient.timezone,
                treated_at=treatment.performed_at if treatment else None,
                protocol=treatment.protocol if treatment else None,
                staff_telegram_chat_id=clinic.staff_telegram_chat_id,
                staff_sms_number=clinic.staff_sms_number,
            )

    def record(
        self,
        *,
        patient_id: int | None,
        clinic_id: int | None,
        channel: str,
        inbound_text: str,
        reply_text: str,
        topic: str,
        language: str,
        category: str | None,
        at: datetime,
        alert_quiet_period: timedelta,
        inbound_id: InboundId | None = None,
        alert: bool = True,
        checkin: CheckinAnswerRow | None = None,
    ) -> Recorded | None:
        """Store the exchange and, for a warning sign, the escalation, in one transaction
        with the provider's message id when there is one. None: that id was recorded
        already (the message was processed), and nothing was stored.

        Whether the clinic is to be alerted is decided on the patient's alert window row,
        inside the same transaction, so two quick messages do not both alert;
        `alert_failed` reopens the window if the alert could not be sent. An escalation
        with `alert=False` (a low-priority item for staff) is recorded without alerting.
        A check-in answer is stored with the conversation it came in.
        """
        with self._db.session() as session:
            if inbound_id is not None and not record_inbound_id(session, *inbound_id, at):
                return None
            conversation = Conversation(
                patient_id=patient_id,
                clinic_id=clinic_id,
                channel=channel,
                inbound_text=inbound_text,
                reply_text=reply_text,
                topic=topic,
                language=language,
                escalated=category is not None,
                created_at=at,
            )
            session.add(conversation)
            session.flush()
            if category is None:
                if checkin is not None and patient_id is not None:
                    add_answer(session, checkin, patient_id, conversation.id, None, at)
                return Recorded(conversation.id, None, False)
            escalation = Escalation(
                clinic_id=clinic_id,
                patient_id=patient_id,
                conversation_id=conversation.id,
                category=category,
                created_at=at,
            )
            session.add(escalation)
            session.flush()
            if checkin is not None and patient_id is not None:
                add_answer(session, checkin, patient_id, conversation.id, escalation.id, at)
            alert_due = alert and clinic_id is not None
            if alert_due and patient_id is not None:
                alert_due = _open_alert_window(
                    session, patient_id, category, escalation.id, at, alert_quiet_period
                )
            if alert_due:
                escalation.alerted_at = at
            return Recorded(conversation.id, escalation.id, alert_due)

    def latest_checkin(
        self, patient_id: int, milestones: Sequence[str], since: datetime
    ) -> SentCheckin | None:
        """The newest check-in among `milestones` sent to the patient since `since`."""
        with self._db.session() as session:
            return latest_sent_checkin(session, patient_id, milestones, since)

    def alert_failed(self, escalation_id: int) -> None:
        """The alert for this escalation could not be sent: the next message tries again."""
        with self._db.session() as session:
            session.execute(
                update(Escalation).where(Escalation.id == escalation_id).values(alerted_at=None)
            )
            session.execute(
                update(AlertWindow)
                .where(AlertWindow.escalation_id == escalation_id)
                .values(alerted_at=None)
            )


def dialect_insert(session: Session, model: type[Any]) -> Any:
    """INSERT with the dialect's ON CONFLICT clauses (both databases speak them)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def record_inbound_id(session: Session, provider: str, message_id: str, at: datetime) -> bool:
    """Store a provider's message id in the caller's transaction; False if it is stored
    already. A concurrent transaction holding the same id makes this wait for its outcome
    (PostgreSQL's unique index; SQLite's single writer), so of two simultaneous deliveries
    exactly one gets True, and a rolled-back one leaves the id free for the redelivery."""
    inserted = session.scalar(
        dialect_insert(session, InboundMessage)
        .values(provider=provider, provider_message_id=message_id, received_at=at)
        .on_conflict_do_nothing(index_elements=["provider", "provider_message_id"])
        .returning(InboundMessage.id)
    )
    return inserted is not None


def _open_alert_window(
    session: Session,
    patient_id: int,
    category: str,
    escalation_id: int,
    at: datetime,
    quiet_period: timedelta,
) -> bool:
    """True if no alert about this patient and category went out within `quiet_period`;
    the window then belongs to `escalation_id`. One upsert on the pair's row: on
    PostgreSQL a second transaction waits on the first one's row and then sees its alert."""
    insert = dialect_insert(session, AlertWindow).values(
        patient_id=patient_id, category=category, escalation_id=escalation_id, alerted_at=at
    )
    claimed = session.scalar(
        insert.on_conflict_do_update(
            index_elements=["patient_id", "category"],
            set_={
                "escalation_id": insert.excluded.escalation_id,
                "alerted_at": insert.excluded.alerted_at,
            },
            where=or_(AlertWindow.alerted_at.is_(None), AlertWindow.alerted_at < at - quiet_period),
        ).returning(AlertWindow.escalation_id)
    )
    return claimed is not None
