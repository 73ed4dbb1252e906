"""What the SMS webhooks read and write: patients by phone number, opt-outs, processed
inbound message ids, and delivery receipts on reminders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from storage.conversations import InboundId, record_inbound_id
from storage.db import Database
from storage.models import Clinic, InboundMessage, Patient, Reminder
from storage.plans import PatientPlan, patient_plan

MAX_ROW_ID = 2**31 - 1  # ids are INTEGER columns: 32 bits on PostgreSQL


@dataclass(frozen=True)
class SmsContact:
    """The patient a phone number belongs to, with what a keyword reply needs."""

    patient_id: int
    language: str
    sms_opted_out: bool
    clinic_name: str
    clinic_phone: str
    timezone: str = "UTC"


@dataclass(frozen=True)
class DeliveryUpdate:
    """A delivery receipt that changed a reminder."""

    reminder_id: int
    patient_id: int


class SmsStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def contact(self, phone: str) -> SmsContact | None:
        """The most recently registered patient with this number (a number can come back
        for a new treatment, or be shared with another clinic's record)."""
        with self._db.session() as session:
            row = session.execute(
                select(
                    Patient.id,
                    Patient.language,
                    Patient.sms_opted_out,
                    Clinic.name,
                    Clinic.phone,
                    Patient.timezone,
                )
                .join(Clinic, Clinic.id == Patient.clinic_id)
                .where(Patient.phone == phone, Patient.erased_at.is_(None))
                .order_by(Patient.id.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        patient_id, language, opted_out, clinic_name, clinic_phone, zone = row
        return SmsContact(patient_id, language, bool(opted_out), clinic_name, clinic_phone, zone)

    def plan(self, patient_id: int, now: datetime) -> PatientPlan | None:
        """What PLAN answers: the current session's reminders and the next session."""
        with self._db.session() as session:
            return patient_plan(session, patient_id, now)

    def set_opted_out(
        self, phone: str, opted_out: bool, at: datetime, inbound_id: InboundId | None = None
    ) -> int | None:
        """STOP / START: an opt-out belongs to the number, so every record with it follows.
        Returns the records changed, or None if `inbound_id` was processed before (then a
        late redelivery of an old STOP cannot undo the START that followed it)."""
        with self._db.session() as session:
            if inbound_id is not None and not record_inbound_id(session, *inbound_id, at):
                return None
            result = session.execute(
                update(Patient)
                .where(Patient.phone == phone, Patient.erased_at.is_(None))
                .values(sms_opted_out=opted_out, updated_at=at)
                .execution_options(synchronize_session=False)
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def is_processed(self, provider: str, message_id: str) -> bool:
        """Whether a message with this id was processed (a cheap early answer to a
        redelivery; the transaction that stores what the message did decides)."""
        with self._db.session() as session:
            found = session.scalar(
                select(InboundMessage.id).where(
                    InboundMessage.provider == provider,
                    InboundMessage.provider_message_id == message_id,
                )
            )
        return found is not None

    def record_inbound(self, provider: str, message_id: str, at: datetime) -> bool:
        """Record the id of a message that changed nothing else (HELP, an unknown number);
        False if it was recorded before."""
        with self._db.session() as session:
            return record_inbound_id(session, provider, message_id, at)

    def record_delivery(
        self,
        message_sid: str,
        status: str,
        replaceable: list[str],
        error_code: str | None,
        at: datetime,
        reminder_id: int | None = None,
        flag: str | None = None,
    ) -> DeliveryUpdate | None:
        """Store `status` on the reminder sent as `message_sid` if its current delivery
        status is one of `replaceable` (or none yet). One conditional UPDATE, so concurrent
        and repeated callbacks cannot downgrade it. `flag` (sms_opted_out, sms_unreachable)
        is set on the patient when the status is recorded."""
        values: dict[str, object] = {"delivery_status": status}
        if error_code is not None:
            values["error_code"] = error_code[:16]
        if status == "delivered":
            values["delivered_at"] = at
        if reminder_id is not None and not 0 < reminder_id <= MAX_ROW_ID:
            return None  # no row can have it (and PostgreSQL would refuse to compare)
        if reminder_id is None:
            target = [Reminder.provider_message_id == message_sid]
        else:
            # The callback may overtake the engine recording the send: adopt the id then.
            target = [
                Reminder.id == reminder_id,
                or_(
                    Reminder.provider_message_id.is_(None),
                    Reminder.provider_message_id == message_sid,
                ),
            ]
            values["provider_message_id"] = message_sid
        with self._db.session() as session:
            row = session.execute(
                update(Reminder)
                .where(
                    *target,
                    or_(
                        Reminder.delivery_status.is_(None),
                        Reminder.delivery_status.in_(replaceable),
                    ),
                )
                .values(values)
                .returning(Reminder.id, Reminder.patient_id)
                .execution_options(synchronize_session=False)
            ).first()
            if row is None:
                return None
            update_ = DeliveryUpdate(int(row[0]), int(row[1]))
            if flag is not None:
                _set_patient_flag(session, update_.patient_id, flag, at)
        return update_


def _set_patient_flag(session: Session, patient_id: int, flag: str, at: datetime) -> None:
    if flag not in ("sms_opted_out", "sms_unreachable"):
        raise ValueError(f"not an SMS flag: {flag!r}")
    session.execute(
        update(Patient)
        .where(Patient.id == patient_id)
        .values({flag: True, "updated_at": at})
        .execution_options(synchronize_session=False)
    )
