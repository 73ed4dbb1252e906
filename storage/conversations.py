"""What the conversation core reads and writes: who is writing, and what was said and done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from storage.db import Database
from storage.models import Clinic, Conversation, Escalation, Patient
from storage.patients import current_treatment


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

    def sender(self, patient_id: int) -> Sender | None:
        """The patient behind a message; None if unknown or erased (then answered as a
        stranger: general answers, no clinic alert)."""
        with self._db.session() as session:
            row = session.execute(
                select(Patient, Clinic)
                .join(Clinic, Clinic.id == Patient.clinic_id)
                .where(Patient.id == patient_id, Patient.erased_at.is_(None))
            ).first()
            if row is None:
                return None
            patient, clinic = row
            treatment = current_treatment(session, patient_id)
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
    ) -> Recorded:
        """Store the exchange and, for a warning sign, the escalation.

        The escalation is marked alerted at once when an alert is due, inside the same
        transaction that checked for a recent one, so two quick messages do not both alert;
        `alert_failed` clears the mark if the alert could not be sent.
        """
        with self._db.session() as session:
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
                return Recorded(conversation.id, None, False)
            alert_due = clinic_id is not None
            if alert_due and patient_id is not None:
                recent = session.scalar(
                    select(Escalation.id)
                    .where(
                        Escalation.patient_id == patient_id,
                        Escalation.category == category,
                        Escalation.alerted_at >= at - alert_quiet_period,
                    )
                    .limit(1)
                    .with_for_update()
                )
                alert_due = recent is None
            escalation = Escalation(
                clinic_id=clinic_id,
                patient_id=patient_id,
                conversation_id=conversation.id,
                category=category,
                created_at=at,
                alerted_at=at if alert_due else None,
            )
            session.add(escalation)
            session.flush()
            return Recorded(conversation.id, escalation.id, alert_due)

    def alert_failed(self, escalation_id: int) -> None:
        with self._db.session() as session:
            session.execute(
                update(Escalation).where(Escalation.id == escalation_id).values(alerted_at=None)
            )
