"""Escalations as a clinic's staff work them: the inbox, one escalation with its patient,
a reply queued in the reminder outbox, and resolving.

Every read and write is scoped to a clinic: an escalation of another clinic is answered
as missing. Writes take an `audit` hook, called inside the same transaction, so the audit
entry and the change are committed together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import Conversation, Escalation, Patient, Reminder, Treatment
from storage.patients import current_treatment
from storage.values import STAFF_REPLY, ReminderStatus

# Most urgent first. A category this map does not know (a new kind of escalation) comes
# after the red flags and before the low-priority check-in concerns: unknown is not minor.
PRIORITY: Final[Mapping[str, int]] = {"emergency": 0, "red_flag": 1, "checkin_concern": 3}
UNKNOWN_PRIORITY: Final = 2
INBOX_LIMIT: Final = 200
# A reply not sent within this long (the patient unreachable all the while) is stale.
REPLY_VALID_FOR: Final = timedelta(hours=24)
# Claims take the oldest `next_attempt_at` first: dated this much earlier, a reply is in
# the next claim instead of behind a backlog of reminders (a large import at 1 SMS/s); it
# waits at most for the batch already claimed (half a lease's worth of sends).
REPLY_HEAD_START: Final = timedelta(days=1)
NOTE_MAX_CHARS: Final = 1_000

Audit = Callable[[Session], None]
Unreachable = Literal["erased", "no_treatment", "no_channel", "channel_changed"]


def priority_of(category: str) -> int:
    return PRIORITY.get(category, UNKNOWN_PRIORITY)


@dataclass(frozen=True)
class InboxItem:
    escalation_id: int
    category: str
    created_at: datetime
    patient_id: int | None
    first_name: str | None
    external_id: str | None
    erased: bool
    channel: str  # the channel the patient wrote on
    words: str | None  # what they wrote (None once purged or erased)


@dataclass(frozen=True)
class PatientContact:
    id: int
    external_id: str
    first_name: str | None
    phone: str | None
    telegram_chat_id: int | None
    channel: str  # preferred: sms | telegram
    sms_opted_out: bool
    sms_unreachable: bool
    telegram_unreachable: bool
    paused: bool
    erased: bool
    timezone: str
    language: str

    def reachable_on(self, channel: str) -> bool:
        if self.erased:
            return False
        if channel == "sms":
            return bool(self.phone) and not self.sms_opted_out and not self.sms_unreachable
        if channel == "telegram":
            return self.telegram_chat_id is not None and not self.telegram_unreachable
        return False

    @property
    def reply_channel(self) -> str | None:
        """Where a reply goes now: the patient's own channel, else the other one, as the
        dispatcher would move it (scheduler.decisions); None when neither reaches them."""
        other = "telegram" if self.channel == "sms" else "sms"
        for channel in (self.channel, other):
            if self.reachable_on(channel):
                return channel
        return None


@dataclass(frozen=True)
class EscalationRecord:
    id: int
    clinic_id: int | None
    category: str
    created_at: datetime
    alerted_at: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None
    conversation_id: int | None
    patient: PatientContact | None
    others_open: tuple[tuple[int, str, datetime], ...]  # the patient's other open ones

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True)
class QueuedReply:
    reminder_id: int
    channel: str
    wake_at: datetime  # when a dispatcher may claim it (at once)


@dataclass(frozen=True)
class ReplyRefused:
    reason: Unreachable


class EscalationRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def inbox(self, clinic_id: int, limit: int = INBOX_LIMIT) -> list[InboxItem]:
        """Open escalations, most urgent category first, newest first within one."""
        rank = case(dict(PRIORITY), value=Escalation.category, else_=UNKNOWN_PRIORITY)
        statement = (
            select(
                Escalation.id,
                Escalation.category,
                Escalation.created_at,
                Escalation.patient_id,
                Patient.first_name,
                Patient.external_id,
                Patient.erased_at.is_not(None),
                Conversation.channel,
                Conversation.inbound_text,
            )
            .outerjoin(Patient, Patient.id == Escalation.patient_id)
            .outerjoin(Conversation, Conversation.id == Escalation.conversation_id)
            .where(Escalation.clinic_id == clinic_id, Escalation.resolved_at.is_(None))
            .order_by(rank, Escalation.created_at.desc(), Escalation.id.desc())
            .limit(limit)
        )
        with self._db.session() as session:
            rows = session.execute(statement).all()
        return [
            InboxItem(
                escalation_id=row[0],
                category=row[1],
                created_at=row[2],
                patient_id=row[3],
                first_name=row[4],
                external_id=row[5],
                erased=bool(row[6]),
                channel=row[7] or "",
                words=row[8],
            )
            for row in rows
        ]

    def get(self, clinic_id: int, escalation_id: int) -> EscalationRecord | None:
        """One of this clinic's escalations with its patient; None for any other."""
        with self._db.session() as session:
            escalation = session.get(Escalation, escalation_id)
            if escalation is None or escalation.clinic_id != clinic_id:
                return None
            patient = (
                session.get(Patient, escalation.patient_id)
                if escalation.patient_id is not None
                else None
            )
            others: tuple[tuple[int, str, datetime], ...] = ()
            if patient is not None:
                others = tuple(
                    (row[0], row[1], row[2])
                    for row in session.execute(
                        select(Escalation.id, Escalation.category, Escalation.created_at)
                        .where(
                            Escalation.patient_id == patient.id,
                            Escalation.clinic_id == clinic_id,
                            Escalation.resolved_at.is_(None),
                            Escalation.id != escalation.id,
                        )
                        .order_by(Escalation.created_at.desc())
                        .limit(20)
                    )
                )
            return EscalationRecord(
                id=escalation.id,
                clinic_id=escalation.clinic_id,
                category=escalation.category,
                created_at=escalation.created_at,
                alerted_at=escalation.alerted_at,
                resolved_at=escalation.resolved_at,
                resolved_by=escalation.resolved_by,
                resolution_note=escalation.resolution_note,
                conversation_id=escalation.conversation_id,
                patient=_contact(patient) if patient is not None else None,
                others_open=others,
            )

    def queue_reply(
        self,
        clinic_id: int,
        escalation_id: int,
        body: str,
        staff_id: int | None,
        staff_email: str | None,
        now: datetime,
        expected_channel: str,
        audit: Audit | None = None,
    ) -> QueuedReply | ReplyRefused | None:
        """Put a staff reply in the reminder outbox, due now; None if the escalation is not
        this clinic's. `body` was checked for `expected_channel`: if the patient's channel
        is another one by now, nothing is queued. The dispatcher sends it like a reminder,
        and decides again at send time (opt-out, erasure, channel)."""
        with self._db.session() as session:
            escalation = session.get(Escalation, escalation_id)
            if escalation is None or escalation.clinic_id != clinic_id:
                return None
            patient = (
                session.get(Patient, escalation.patient_id, with_for_update=True)
                if escalation.patient_id is not None
                else None
            )
            if patient is None or patient.erased_at is not None:
                return ReplyRefused("erased")
            channel = _contact(patient).reply_channel
            if channel is None:
                return ReplyRefused("no_channel")
            if channel != expected_channel:
                return ReplyRefused("channel_changed")
            treatment_id = _reply_treatment(session, patient.id, now)
            if treatment_id is None:
                return ReplyRefused("no_treatment")
            reminder = Reminder(
                treatment_id=treatment_id,
                patient_id=patient.id,
                milestone=STAFF_REPLY,
                channel=channel,
                due_at=now,
                expires_at=now + REPLY_VALID_FOR,
                next_attempt_at=now - REPLY_HEAD_START,
                status=ReminderStatus.PENDING,
                attempts=0,
                body=body,
                staff_id=staff_id,
                staff_email=staff_email,
                escalation_id=escalation.id,
            )
            session.add(reminder)
            session.flush()
            if audit is not None:
                audit(session)
            return QueuedReply(reminder.id, channel, reminder.next_attempt_at)

    def resolve(
        self,
        clinic_id: int,
        escalation_id: int,
        note: str | None,
        staff_id: int | None,
        staff_email: str | None,
        now: datetime,
        audit: Audit | None = None,
    ) -> bool | None:
        """Resolve an open escalation: True if this call resolved it, False if it was
        resolved already (nothing changes), None if it is not this clinic's."""
        with self._db.session() as session:
            found = session.scalar(
                select(Escalation.id).where(
                    Escalation.id == escalation_id, Escalation.clinic_id == clinic_id
                )
            )
            if found is None:
                return None
            changed = session.execute(
                update(Escalation)
                .where(Escalation.id == escalation_id, Escalation.resolved_at.is_(None))
                .values(
                    resolved_at=now,
                    resolved_by_staff_id=staff_id,
                    resolved_by=staff_email,
                    resolution_note=note[:NOTE_MAX_CHARS] if note else None,
                )
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            if not changed:
                return False
            if audit is not None:
                audit(session)
            return True


def _contact(patient: Patient) -> PatientContact:
    return PatientContact(
        id=patient.id,
        external_id=patient.external_id,
        first_name=patient.first_name,
        phone=patient.phone,
        telegram_chat_id=patient.telegram_chat_id,
        channel=patient.channel,
        sms_opted_out=patient.sms_opted_out,
        sms_unreachable=patient.sms_unreachable,
        telegram_unreachable=patient.telegram_unreachable,
        paused=patient.paused,
        erased=patient.erased_at is not None,
        timezone=patient.timezone,
        language=patient.language,
    )


def _reply_treatment(session: Session, patient_id: int, now: datetime) -> int | None:
    """The treatment a reply is filed under: the patient's current session at `now` (the
    latest that has happened, else the one booked ahead), not a later booking; failing
    that, the latest one, cancelled or not (a reply answers the patient, whatever became
    of the treatment)."""
    current = current_treatment(session, patient_id, now)
    if current is not None:
        return current.id
    return session.scalar(
        select(Treatment.id)
        .where(Treatment.patient_id == patient_id)
        .order_by(Treatment.performed_at.desc(), Treatment.id.desc())
        .limit(1)
    )
