"""What waits and what happened lately, counted from the database: the queue depth for
`/metrics`, and the last day for `aftercare stats`.

Both read through `storage.reading.read_only_engine`, so counting never holds SQLite's
write lock while the dispatcher sends. Every query is an index range: the queue
on `ix_reminder_queue` (status, channel, due), settled reminders on `ix_reminder_settled`,
conversations on `ix_conversation_created`. Escalations are few (a scan of the day's rows).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select

from storage.db import Database
from storage.models import Conversation, Escalation, Reminder
from storage.reading import read_only_engine
from storage.values import CHANNELS, ReminderStatus

S = ReminderStatus
# The outcomes `aftercare stats` counts, as /metrics names them.
COUNTED = (S.SENT, S.FAILED, S.EXPIRED, S.IN_DOUBT)


def queue_depth(
    reader: Engine, now: datetime, channels: Sequence[str] = CHANNELS
) -> dict[str, tuple[int, int]]:
    """Per channel: (pending reminders due by `now`, pending reminders in all).
    `reader`: a `read_only_engine`, made once by the caller (it scrapes every few seconds)."""
    counts: dict[str, tuple[int, int]] = {}
    with reader.connect() as conn:
        for channel in channels:
            pending = (
                select(func.count())
                .select_from(Reminder)
                .where(Reminder.status == S.PENDING, Reminder.channel == channel)
            )
            total = int(conn.execute(pending).scalar_one())
            due = int(conn.execute(pending.where(Reminder.next_attempt_at <= now)).scalar_one())
            counts[channel] = (due, total)
    return counts


@dataclass
class Activity:
    """Counts over (since, until]."""

    since: datetime
    until: datetime
    reminders: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    lateness_seconds: list[float] = field(default_factory=list)  # of each sent, ascending
    provider_errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    inbound: Counter[str] = field(default_factory=Counter)
    escalations: Counter[str] = field(default_factory=Counter)
    queue: dict[str, tuple[int, int]] = field(default_factory=dict)


def activity(db: Database, until: datetime, span: timedelta = timedelta(hours=24)) -> Activity:
    """Reminders settled (by channel, milestone, outcome), lateness of those sent, provider
    error codes on settled reminders, inbound messages and escalations, and the queue now."""
    since = until - span
    reader = read_only_engine(db)
    found = Activity(since, until)
    settled = Reminder.settled_at > since, Reminder.settled_at <= until
    with reader.connect() as conn:
        rows = conn.execute(
            select(Reminder.channel, Reminder.milestone, Reminder.status, func.count())
            .where(*settled, Reminder.status.in_([s.value for s in COUNTED]))
            .group_by(Reminder.channel, Reminder.milestone, Reminder.status)
        )
        for channel, milestone, status, count in rows:
            found.reminders[(channel, milestone, status)] = int(count)
        lateness = conn.execute(
            select(Reminder.due_at, Reminder.sent_at).where(*settled, Reminder.status == S.SENT)
        )
        found.lateness_seconds = sorted(
            max((sent - due).total_seconds(), 0.0) for due, sent in lateness if sent and due
        )
        errors = conn.execute(
            select(Reminder.channel, Reminder.error_code, func.count())
            .where(*settled, Reminder.error_code.is_not(None))
            .group_by(Reminder.channel, Reminder.error_code)
        )
        for channel, code, count in errors:
            found.provider_errors[(channel, str(code))] = int(count)
        inbound = conn.execute(
            select(Conversation.channel, func.count())
            .where(Conversation.created_at > since, Conversation.created_at <= until)
            .group_by(Conversation.channel)
        )
        for channel, count in inbound:
            found.inbound[channel] = int(count)
        escalations = conn.execute(
            select(Escalation.category, func.count())
            .where(Escalation.created_at > since, Escalation.created_at <= until)
            .group_by(Escalation.category)
        )
        for category, count in escalations:
            found.escalations[category] = int(count)
    found.queue = queue_depth(reader, until)
    return found
