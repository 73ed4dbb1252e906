"""Data kept only as long as needed: what a finished treatment leaves behind is purged after
RETENTION_DAYS, keeping the counts and statuses that statistics need.

Purged, once older than the cutoff:
- the texts of conversations (what the patient wrote and what we answered); the row, its
  topic, language and escalation stay;
- the provider's id on reminders (a Twilio message SID: Twilio's own log ties it to the
  phone number); status, timestamps, delivery status, error code and cost stay;
- the text of staff replies (reminders that carry their own); who sent them stays.

Only when the treatment is finished: it has no reminder still pending, claimed or being
sent. A conversation belongs to the patient's latest treatment performed before it (or to
none: a stranger, or a self-registration chat). Processed webhook ids are pruned after 30
days elsewhere (`PatientRepository.prune_inbound`); they hold no personal data.

Each batch is its own short transaction, so the SQLite write lock is never held for long
while the dispatcher works. Both queries walk partial indexes that hold only rows not yet
purged, so an hourly run costs little once the backlog is gone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Update, and_, exists, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, aliased

from storage.db import Database
from storage.models import Conversation, Reminder, Treatment
from storage.values import OPEN_STATUSES, STAFF_REPLY

BATCH = 1000


@dataclass(frozen=True)
class Purged:
    conversations: int  # conversations whose texts were removed
    provider_ids: int  # reminders whose provider message id was removed
    reply_texts: int = 0  # staff replies whose text was removed

    @property
    def total(self) -> int:
        return self.conversations + self.provider_ids + self.reply_texts


def purge_before(db: Database, cutoff: datetime, batch: int = BATCH) -> Purged:
    """Purge what finished treatments left from before `cutoff`; how many rows changed."""
    return Purged(
        _in_batches(db, _conversations(cutoff, batch)),
        _in_batches(db, _provider_ids(cutoff, batch)),
        _in_batches(db, _reply_texts(cutoff, batch)),
    )


def _in_batches(db: Database, statement: Update) -> int:
    total = 0
    while True:
        with db.session() as session:
            changed = int(session.execute(statement).rowcount)  # type: ignore[attr-defined]
        total += changed
        if changed == 0:
            return total


def _running(treatment_id: ColumnElement[int] | InstrumentedAttribute[int]) -> ColumnElement[bool]:
    open_reminder = aliased(Reminder)
    return exists().where(
        open_reminder.treatment_id == treatment_id,
        open_reminder.status.in_([status.value for status in OPEN_STATUSES]),
    )


def _conversations(cutoff: datetime, batch: int) -> Update:
    treatment = aliased(Treatment)
    # Its treatment still runs: one performed before the message, not cancelled, with an
    # open reminder. (Protocols span weeks, so this matters only for a short retention.)
    still_running = exists().where(
        treatment.patient_id == Conversation.patient_id,
        treatment.performed_at <= Conversation.created_at,
        treatment.cancelled_at.is_(None),
        _running(treatment.id),
    )
    unpurged = or_(Conversation.inbound_text.is_not(None), Conversation.reply_text.is_not(None))
    ids = (
        select(Conversation.id)
        .where(unpurged, Conversation.created_at < cutoff, ~still_running)
        .limit(batch)
        .scalar_subquery()
    )
    return (
        update(Conversation)
        .where(Conversation.id.in_(ids))
        .values(inbound_text=None, reply_text=None)
        .execution_options(synchronize_session=False)
    )


def _provider_ids(cutoff: datetime, batch: int) -> Update:
    settled = func.coalesce(Reminder.settled_at, Reminder.sent_at, Reminder.due_at)
    ids = (
        select(Reminder.id)
        .where(
            Reminder.provider_message_id.is_not(None),
            settled < cutoff,
            and_(
                Reminder.status.not_in([status.value for status in OPEN_STATUSES]),
                ~_running(Reminder.treatment_id),
            ),
        )
        .limit(batch)
        .scalar_subquery()
    )
    return (
        update(Reminder)
        .where(Reminder.id.in_(ids))
        .values(provider_message_id=None)
        .execution_options(synchronize_session=False)
    )


def _reply_texts(cutoff: datetime, batch: int) -> Update:
    # Walks the partial index of staff replies (few, beside the reminders).
    settled = func.coalesce(Reminder.settled_at, Reminder.sent_at, Reminder.due_at)
    ids = (
        select(Reminder.id)
        .where(
            Reminder.milestone == STAFF_REPLY,
            Reminder.body.is_not(None),
            settled < cutoff,
            Reminder.status.not_in([status.value for status in OPEN_STATUSES]),
            ~_running(Reminder.treatment_id),
        )
        .limit(batch)
        .scalar_subquery()
    )
    return (
        update(Reminder)
        .where(Reminder.id.in_(ids))
        .values(body=None)
        .execution_options(synchronize_session=False)
    )


def retention_purge(db: Database, days: int) -> Callable[[datetime], dict[str, int]]:
    """The maintenance job's purge: everything older than `days` before the given instant."""
    keep = timedelta(days=days)

    def purge(now: datetime) -> dict[str, int]:
        purged = purge_before(db, now - keep)
        return {
            "conversation texts": purged.conversations,
            "provider ids": purged.provider_ids,
            "staff reply texts": purged.reply_texts,
        }

    return purge
