"""Everything said between a patient and us, for staff to read: what the patient wrote
(with our automatic answer), and what went out to them (reminders and staff replies).

Protocol reminders carry no text of their own (they are rendered when sent): the reader
gets what is needed to render them again. Planned reminders that never went out are not
messages and are left out; a staff reply is listed whatever became of it, so staff see
one that is still on its way or could not be sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import and_, or_, select

from storage.db import Database
from storage.models import Conversation, Reminder, Treatment
from storage.values import STAFF_REPLY, ReminderStatus

S = ReminderStatus
MESSAGE_LIMIT: Final = 200  # of each kind, newest; a treatment has a few dozen at most
# A protocol reminder that reached a provider, or was tried and failed.
ATTEMPTED: Final = (S.SENT, S.SENDING, S.IN_DOUBT)


@dataclass(frozen=True)
class PatientWrote:
    conversation_id: int
    at: datetime
    channel: str
    text: str | None  # None once purged (retention) or erased
    answer: str | None  # our automatic answer, as sent on `channel`
    escalated: bool


@dataclass(frozen=True)
class SentToPatient:
    reminder_id: int
    milestone: str
    channel: str
    status: str
    at: datetime  # when it went out, or when it was due / settled
    delivery_status: str | None
    attempts: int
    last_error: str | None
    body: str | None  # a staff reply's text
    staff_email: str | None
    escalation_id: int | None
    performed_at: datetime  # for rendering a protocol reminder again
    registered_at: datetime
    protocol: str

    @property
    def is_staff_reply(self) -> bool:
        return self.milestone == STAFF_REPLY


@dataclass(frozen=True)
class PatientMessages:
    wrote: list[PatientWrote]
    sent: list[SentToPatient]


def patient_messages(db: Database, patient_id: int, limit: int = MESSAGE_LIMIT) -> PatientMessages:
    """The patient's messages of each kind, newest `limit`, oldest first."""
    wrote_query = (
        select(
            Conversation.id,
            Conversation.created_at,
            Conversation.channel,
            Conversation.inbound_text,
            Conversation.reply_text,
            Conversation.escalated,
        )
        .where(Conversation.patient_id == patient_id)
        .order_by(Conversation.created_at.desc(), Conversation.id.desc())
        .limit(limit)
    )
    shown = or_(
        Reminder.milestone == STAFF_REPLY,
        Reminder.status.in_([s.value for s in ATTEMPTED]),
        and_(Reminder.status == S.FAILED, Reminder.attempts > 0),
    )
    sent_query = (
        select(Reminder, Treatment.performed_at, Treatment.registered_at, Treatment.protocol)
        .join(Treatment, Treatment.id == Reminder.treatment_id)
        .where(Reminder.patient_id == patient_id, shown)
        .order_by(Reminder.due_at.desc(), Reminder.id.desc())
        .limit(limit)
    )
    with db.session() as session:
        wrote = [
            PatientWrote(row[0], row[1], row[2], row[3], row[4], bool(row[5]))
            for row in session.execute(wrote_query)
        ]
        sent = [
            SentToPatient(
                reminder_id=r.id,
                milestone=r.milestone,
                channel=r.channel,
                status=r.status,
                at=r.sent_at or r.settled_at or r.due_at,
                delivery_status=r.delivery_status,
                attempts=r.attempts,
                last_error=r.last_error,
                body=r.body,
                staff_email=r.staff_email,
                escalation_id=r.escalation_id,
                performed_at=performed_at,
                registered_at=registered_at,
                protocol=protocol,
            )
            for r, performed_at, registered_at, protocol in session.execute(sent_query)
        ]
    wrote.reverse()
    sent.reverse()
    return PatientMessages(wrote, sent)
