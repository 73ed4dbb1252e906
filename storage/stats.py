"""One clinic's delivery statistics over a period, counted in buckets (weeks or days).

The caller gives the buckets' bounds as UTC instants (a week starts at midnight on Monday
in the clinic's zone, whatever DST did), and each count is grouped in the database by a
CASE over those bounds, the same SQL on SQLite and PostgreSQL. Reads run in a read-only
transaction that never takes SQLite's write lock (EnrollmentStore.reading).

What is counted, each in the bucket of the instant named:
- enrolled: patients created (patient.created_at);
- per channel, reminders that settled (reminder.settled_at), staff replies left out:
  sent (handed to the provider), delivered (of those, confirmed by the carrier), failed
  (never sent, or reported undelivered after sending) and expired (their window closed);
- SMS segments: of every text that settled, staff replies included (what is billed);
- opt-outs: patients whose SMS is opted out, by when their record last changed (the
  schema keeps no separate opt-out time, so a later change to the record moves it);
- escalations by category (escalation.created_at);
- time to the first staff reply: for each escalation, its first reply (a reminder row
  with milestone "staff_reply" naming it, migration 0010); none before that migration.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    column,
    func,
    inspect,
    select,
    table,
    text,
)
from sqlalchemy.orm import QueryableAttribute, Session

from storage.db import Database
from storage.enrollment import EnrollmentStore
from storage.models import Escalation, Patient, Reminder, UTCDateTime
from storage.values import CHANNELS, ReminderStatus

OUTCOMES: Final = ("sent", "delivered", "failed", "expired")
DELIVERED: Final = ("delivered", "read")
UNDELIVERED: Final = ("failed", "undelivered")
MAX_BUCKETS: Final = 400
STAFF_REPLY: Final = "staff_reply"  # the milestone of a staff reply's reminder row

# The reply columns by name: they exist only from migration 0010 on.
_REPLY = table(
    "reminder",
    column("patient_id", Integer),
    column("escalation_id", Integer),
    column("milestone"),
    column("due_at", UTCDateTime()),
)


@dataclass
class ClinicStats:
    """Counts per bucket; bucket i covers [bounds[i], bounds[i + 1])."""

    bounds: list[datetime]
    enrolled: list[int]
    reminders: dict[tuple[str, str], list[int]]  # (channel, outcome) -> counts
    sms_segments: list[int]
    opt_outs: list[int]
    escalations: dict[str, list[int]]  # category -> counts (categories seen, sorted)
    reply_seconds: list[list[float]]  # per bucket: each answered escalation's wait
    unanswered: list[int] = field(default_factory=list)  # escalations with no reply yet
    replies_recorded: bool = False  # the database can hold staff replies (0010)

    @property
    def buckets(self) -> int:
        return len(self.bounds) - 1

    def median_reply(self, bucket: int | None = None) -> float | None:
        """Median seconds from escalation to first staff reply, of one bucket or all."""
        waits = (
            [w for one in self.reply_seconds for w in one]
            if bucket is None
            else self.reply_seconds[bucket]
        )
        return statistics.median(waits) if waits else None


def bucket_of(
    instant: ColumnElement[Any] | QueryableAttribute[Any], bounds: Sequence[datetime]
) -> ColumnElement[Any]:
    """The bucket number of `instant` (NULL outside the bounds)."""
    return case(
        *[(and_(instant >= bounds[i], instant < bounds[i + 1]), i) for i in range(len(bounds) - 1)],
        else_=None,
    )


class StatsStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._reader = EnrollmentStore(db)

    def clinic_stats(self, clinic_id: int, bounds: Sequence[datetime]) -> ClinicStats:
        if not 2 <= len(bounds) <= MAX_BUCKETS + 1 or list(bounds) != sorted(bounds):
            raise ValueError("bounds: 2 to 401 ascending instants")
        n = len(bounds) - 1
        stats = ClinicStats(
            bounds=list(bounds),
            enrolled=[0] * n,
            reminders={(c, o): [0] * n for c in CHANNELS for o in OUTCOMES},
            sms_segments=[0] * n,
            opt_outs=[0] * n,
            escalations={},
            reply_seconds=[[] for _ in range(n)],
            unanswered=[0] * n,
        )
        with self._reader.reading() as session:
            self._patients(session, clinic_id, bounds, stats)
            postgresql = self._db.dialect == "postgresql"
            if postgresql:
                # Right after a bulk import, before autovacuum has analyzed the new rows,
                # the planner takes the tables for nearly empty and joins reminders to
                # patients in a nested loop: quadratic (2.6 s for 3,000 reminders). This
                # is a scan of a whole range, for which a hash join is right at any size.
                session.execute(text("SET LOCAL enable_nestloop = off"))
            self._reminders(session, clinic_id, bounds, stats)
            if postgresql:
                session.execute(text("SET LOCAL enable_nestloop = on"))
            self._escalations(session, clinic_id, bounds, stats)
            stats.replies_recorded = _has_reply_columns(session)
            if stats.replies_recorded:
                self._replies(session, clinic_id, bounds, stats)
        return stats

    @staticmethod
    def _patients(
        session: Session, clinic_id: int, bounds: Sequence[datetime], stats: ClinicStats
    ) -> None:
        enrolled = (
            select(bucket_of(Patient.created_at, bounds).label("bucket"))
            .where(
                Patient.clinic_id == clinic_id,
                Patient.created_at >= bounds[0],
                Patient.created_at < bounds[-1],
            )
            .subquery()
        )
        for bucket, count in session.execute(
            select(enrolled.c.bucket, func.count()).group_by(enrolled.c.bucket)
        ):
            stats.enrolled[bucket] = int(count)
        opted_out = (
            select(bucket_of(Patient.updated_at, bounds).label("bucket"))
            .where(
                Patient.clinic_id == clinic_id,
                Patient.sms_opted_out.is_(True),
                Patient.updated_at >= bounds[0],
                Patient.updated_at < bounds[-1],
            )
            .subquery()
        )
        for bucket, count in session.execute(
            select(opted_out.c.bucket, func.count()).group_by(opted_out.c.bucket)
        ):
            stats.opt_outs[bucket] = int(count)

    @staticmethod
    def _reminders(
        session: Session, clinic_id: int, bounds: Sequence[datetime], stats: ClinicStats
    ) -> None:
        settled = (
            select(
                bucket_of(Reminder.settled_at, bounds).label("bucket"),
                Reminder.channel.label("channel"),
                Reminder.status.label("status"),
                Reminder.delivery_status.label("delivery"),
                (Reminder.milestone == STAFF_REPLY).label("reply"),
                Reminder.segments.label("segments"),
            )
            .join(Patient, Patient.id == Reminder.patient_id)
            .where(
                Patient.clinic_id == clinic_id,
                Reminder.settled_at >= bounds[0],
                Reminder.settled_at < bounds[-1],
                Reminder.status.in_(
                    [ReminderStatus.SENT, ReminderStatus.FAILED, ReminderStatus.EXPIRED]
                ),
            )
            .subquery()
        )
        c = settled.c
        rows = session.execute(
            select(
                c.bucket,
                c.channel,
                c.status,
                c.delivery,
                c.reply,
                func.count(),
                func.coalesce(func.sum(c.segments), 0),
            ).group_by(c.bucket, c.channel, c.status, c.delivery, c.reply)
        )
        for bucket, channel, status, delivery, reply, count, segments in rows:
            if channel == "sms":
                stats.sms_segments[bucket] += int(segments)
            if reply or channel not in CHANNELS:
                continue
            counts = stats.reminders
            if status == ReminderStatus.SENT:
                counts[(channel, "sent")][bucket] += int(count)
                if delivery in DELIVERED:
                    counts[(channel, "delivered")][bucket] += int(count)
                elif delivery in UNDELIVERED:
                    counts[(channel, "failed")][bucket] += int(count)
            elif status == ReminderStatus.FAILED:
                counts[(channel, "failed")][bucket] += int(count)
            else:
                counts[(channel, "expired")][bucket] += int(count)

    @staticmethod
    def _escalations(
        session: Session, clinic_id: int, bounds: Sequence[datetime], stats: ClinicStats
    ) -> None:
        raised = (
            select(
                bucket_of(Escalation.created_at, bounds).label("bucket"),
                Escalation.category.label("category"),
            )
            .where(
                Escalation.clinic_id == clinic_id,
                Escalation.created_at >= bounds[0],
                Escalation.created_at < bounds[-1],
            )
            .subquery()
        )
        rows = session.execute(
            select(raised.c.bucket, raised.c.category, func.count()).group_by(
                raised.c.bucket, raised.c.category
            )
        )
        for bucket, category, count in rows:
            counts = stats.escalations.setdefault(str(category), [0] * stats.buckets)
            counts[bucket] = int(count)
        stats.escalations = dict(sorted(stats.escalations.items()))

    @staticmethod
    def _replies(
        session: Session, clinic_id: int, bounds: Sequence[datetime], stats: ClinicStats
    ) -> None:
        reply = _REPLY.alias("reply")
        # Found through the patient (reminder.patient_id is indexed, escalation_id is not):
        # a patient has a handful of reminder rows.
        rows = session.execute(
            select(Escalation.id, Escalation.created_at, func.min(reply.c.due_at))
            .select_from(Escalation)
            .outerjoin(
                reply,
                and_(
                    reply.c.patient_id == Escalation.patient_id,
                    reply.c.escalation_id == Escalation.id,
                    reply.c.milestone == STAFF_REPLY,
                ),
            )
            .where(
                Escalation.clinic_id == clinic_id,
                Escalation.created_at >= bounds[0],
                Escalation.created_at < bounds[-1],
            )
            .group_by(Escalation.id, Escalation.created_at)
        )
        for _id, created_at, replied_at in rows:
            bucket = _bucket(created_at, bounds)
            if replied_at is None:
                stats.unanswered[bucket] += 1
            else:
                wait = (_aware(replied_at) - created_at).total_seconds()
                stats.reply_seconds[bucket].append(max(0.0, wait))


def _bucket(instant: datetime, bounds: Sequence[datetime]) -> int:
    return next(i for i in range(len(bounds) - 1) if instant < bounds[i + 1])


def _aware(value: Any) -> datetime:
    """A scalar subquery's result skips the column type on some drivers: make it UTC."""
    result = UTCDateTime().process_result_value(value, None)  # type: ignore[arg-type]
    assert result is not None
    return result


def _has_reply_columns(session: Session) -> bool:
    columns = inspect(session.connection()).get_columns("reminder")
    return any(one["name"] == "escalation_id" for one in columns)
