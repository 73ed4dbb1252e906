"""The reminders table is the durable queue; this repository is its only door.

Lifecycle: pending -> claimed (leased by one engine) -> sending (handed to a provider)
-> sent | pending (retry) | failed | expired | cancelled | skipped, and in_doubt when an
engine died between handing a message to the provider and recording the answer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, and_, bindparam, func, select, update

from storage.db import Database
from storage.lanes import LaneLeases
from storage.models import Clinic, Patient, Reminder, ReminderStatus, Treatment
from storage.sms_numbers import SmsFirstContacts
from storage.values import ClaimedReminder as ClaimedReminder
from storage.values import Outcome as Outcome

S = ReminderStatus
# Statuses a reminder ends in through `record` (pending means a retry is planned).
SETTLED = frozenset({S.SENT, S.FAILED, S.EXPIRED, S.CANCELLED, S.SKIPPED})
Tally = Counter[tuple[str, str]]  # (channel, milestone) -> reminders


@dataclass(frozen=True)
class Recovery:
    released: int  # claimed but never handed to a provider: safely back to pending
    in_doubt: int  # handed to a provider by an engine that then died
    in_doubt_by: Tally = field(default_factory=Counter)  # the same, by channel and milestone


@dataclass(frozen=True)
class ListedReminder:
    """One line of `aftercare reminders`: where a reminder stands, without patient details."""

    id: int
    patient_id: int
    milestone: str
    channel: str
    due_at: datetime
    status: str
    attempts: int
    last_error: str | None


class ReminderRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.lanes = LaneLeases(db)
        self.sms_numbers = SmsFirstContacts(db)

    # -- claiming ---------------------------------------------------------------------------

    def claim_due(
        self, channel: str, now: datetime, limit: int, owner: str, lease_until: datetime
    ) -> list[ClaimedReminder]:
        """Atomically lease up to `limit` due reminders of one channel, oldest first.

        PostgreSQL locks the candidate rows with FOR UPDATE SKIP LOCKED so concurrent engines
        take disjoint sets; SQLite serialises writers (BEGIN IMMEDIATE). The ids are read
        first and updated by list: as `UPDATE ... WHERE id IN (SELECT ... LIMIT n)` PostgreSQL
        may rescan the subquery per row and claim more than `limit`.
        """
        candidates = (
            select(Reminder.id)
            .where(
                Reminder.status == S.PENDING,
                Reminder.channel == channel,
                Reminder.next_attempt_at <= now,
            )
            .order_by(Reminder.next_attempt_at, Reminder.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self._db.session() as session:
            ids = list(session.scalars(candidates))
            if not ids:
                return []
            session.execute(
                update(Reminder)
                .where(Reminder.id.in_(ids))
                .values(status=S.CLAIMED, claimed_by=owner, lease_until=lease_until)
                .execution_options(synchronize_session=False)
            )
            rows = session.execute(_details().where(Reminder.id.in_(ids))).all()
        claimed = [_claimed(row) for row in rows]
        claimed.sort(key=lambda c: (c.due_at, c.id))
        return claimed

    def mark_sending(self, ids: Sequence[int], owner: str) -> set[int]:
        """Recorded just before each provider call: from here a crash means 'in doubt'.
        Returns the ids marked; one missing is no longer this engine's claim (its lease
        ran out and the sweep took it back) and must not be sent."""
        if not ids:
            return set()
        with self._db.session() as session:
            marked = session.scalars(
                update(Reminder)
                .where(
                    Reminder.id.in_(ids),
                    Reminder.claimed_by == owner,
                    Reminder.status == S.CLAIMED,
                )
                .values(status=S.SENDING)
                .returning(Reminder.id)
                .execution_options(synchronize_session=False)
            )
            return set(marked)

    def renew_lease(self, owner: str, lease_until: datetime) -> int:
        with self._db.session() as session:
            result = session.execute(
                update(Reminder)
                .where(Reminder.claimed_by == owner, Reminder.status.in_([S.CLAIMED, S.SENDING]))
                .values(lease_until=lease_until)
                .execution_options(synchronize_session=False)
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def release(self, owner: str, ids: Sequence[int] | None = None) -> int:
        """Give unsent claims back (clean shutdown): they were never handed to a provider."""
        conditions = [Reminder.claimed_by == owner, Reminder.status == S.CLAIMED]
        if ids is not None:
            conditions.append(Reminder.id.in_(ids))
        with self._db.session() as session:
            result = session.execute(
                update(Reminder)
                .where(*conditions)
                .values(status=S.PENDING, claimed_by=None, lease_until=None)
                .execution_options(synchronize_session=False)
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def record(self, outcomes: Sequence[Outcome], owner: str) -> None:
        """Write back a chunk's outcomes; only rows this engine still holds are touched."""
        if not outcomes:
            return
        rows = [_outcome_row(o) for o in outcomes]
        statement = (
            update(Reminder)
            .where(and_(Reminder.id == bindparam("b_id"), Reminder.claimed_by == owner))
            .values(
                status=bindparam("b_status"),
                claimed_by=None,
                lease_until=None,
                next_attempt_at=func.coalesce(
                    bindparam("b_next", type_=Reminder.next_attempt_at.type),
                    Reminder.next_attempt_at,
                ),
                channel=func.coalesce(
                    bindparam("b_channel", type_=Reminder.channel.type), Reminder.channel
                ),
                attempts=func.coalesce(
                    bindparam("b_attempts", type_=Reminder.attempts.type), Reminder.attempts
                ),
                provider_message_id=func.coalesce(
                    bindparam("b_provider_id", type_=Reminder.provider_message_id.type),
                    Reminder.provider_message_id,
                ),
                last_error=func.coalesce(
                    bindparam("b_error", type_=Reminder.last_error.type), Reminder.last_error
                ),
                error_code=func.coalesce(
                    bindparam("b_code", type_=Reminder.error_code.type), Reminder.error_code
                ),
                sent_at=func.coalesce(
                    bindparam("b_sent_at", type_=Reminder.sent_at.type), Reminder.sent_at
                ),
                encoding=func.coalesce(
                    bindparam("b_encoding", type_=Reminder.encoding.type), Reminder.encoding
                ),
                segments=func.coalesce(
                    bindparam("b_segments", type_=Reminder.segments.type), Reminder.segments
                ),
                settled_at=bindparam("b_settled_at", type_=Reminder.settled_at.type),
            )
            .execution_options(synchronize_session=False)
        )
        with self._db.session() as session:
            session.connection().execute(statement, rows)

    # -- recovery and housekeeping ----------------------------------------------------------

    def recover_expired_claims(self, now: datetime) -> Recovery:
        """Claims whose engine stopped renewing them: unsent ones return to the queue; ones
        that reached a provider are marked in_doubt and not re-sent (README: in-doubt policy)."""
        with self._db.session() as session:
            released = session.execute(
                update(Reminder)
                .where(Reminder.status == S.CLAIMED, Reminder.lease_until < now)
                .values(status=S.PENDING, claimed_by=None, lease_until=None)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            doubtful = _tally(
                session.execute(
                    update(Reminder)
                    .where(Reminder.status == S.SENDING, Reminder.lease_until < now)
                    .values(
                        status=S.IN_DOUBT,
                        claimed_by=None,
                        lease_until=None,
                        last_error="engine stopped while the provider was being called",
                        settled_at=now,
                    )
                    .returning(Reminder.channel, Reminder.milestone)
                    .execution_options(synchronize_session=False)
                )
            )
        return Recovery(int(released), doubtful.total(), doubtful)

    def expire_overdue(self, now: datetime) -> int:
        return self.expire_overdue_by(now).total()

    def expire_overdue_by(self, now: datetime) -> Tally:
        """Expire what can no longer be sent in its window; how many, by channel and
        milestone (for the metrics)."""
        with self._db.session() as session:
            return _tally(
                session.execute(
                    update(Reminder)
                    .where(Reminder.status == S.PENDING, Reminder.expires_at <= now)
                    .values(
                        status=S.EXPIRED,
                        last_error="window closed before it could be sent",
                        settled_at=now,
                    )
                    .returning(Reminder.channel, Reminder.milestone)
                    .execution_options(synchronize_session=False)
                )
            )

    def earliest_pending(self, channels: Sequence[str]) -> datetime | None:
        with self._db.session() as session:
            values = [
                session.scalar(
                    select(func.min(Reminder.next_attempt_at)).where(
                        Reminder.status == S.PENDING, Reminder.channel == channel
                    )
                )
                for channel in channels
            ]
        present = [value for value in values if value is not None]
        return min(present) if present else None

    # -- patient-level changes --------------------------------------------------------------

    def reroute_pending(self, patient_id: int, from_channel: str, to_channel: str) -> int:
        with self._db.session() as session:
            result = session.execute(
                update(Reminder)
                .where(
                    Reminder.patient_id == patient_id,
                    Reminder.status == S.PENDING,
                    Reminder.channel == from_channel,
                )
                .values(channel=to_channel)
                .execution_options(synchronize_session=False)
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def listed(self, status: ReminderStatus | None, limit: int) -> list[ListedReminder]:
        """Up to `limit` reminders (of one status, or any), the next attempt soonest first."""
        query = select(Reminder).order_by(Reminder.next_attempt_at).limit(limit)
        if status is not None:
            query = query.where(Reminder.status == status.value)
        with self._db.session() as session:
            return [
                ListedReminder(
                    r.id,
                    r.patient_id,
                    r.milestone,
                    r.channel,
                    r.due_at,
                    r.status,
                    r.attempts,
                    r.last_error,
                )
                for r in session.scalars(query)
            ]

    def counts_by_status(self) -> dict[str, int]:
        with self._db.session() as session:
            rows = session.execute(
                select(Reminder.status, func.count()).group_by(Reminder.status)
            ).all()
        return {str(status): int(count) for status, count in rows}


def _outcome_row(o: Outcome) -> dict[str, object]:
    return {
        "b_id": o.reminder_id,
        "b_status": o.status.value,
        "b_next": o.next_attempt_at,
        "b_channel": o.channel,
        "b_attempts": o.attempts,
        "b_provider_id": o.provider_message_id,
        "b_error": o.error[:500] if o.error else None,
        "b_code": o.error_code,
        "b_sent_at": o.at if o.status == S.SENT else None,
        "b_encoding": o.encoding,
        "b_segments": o.segments,
        "b_settled_at": o.at if o.status in SETTLED else None,
    }


def _tally(rows: Iterable[Any]) -> Tally:
    return Counter((str(row[0]), str(row[1])) for row in rows)


def _details() -> Select[*tuple[Any, ...]]:
    return (
        select(
            Reminder.id,
            Reminder.milestone,
            Reminder.channel,
            Reminder.due_at,
            Reminder.expires_at,
            Reminder.attempts,
            Treatment.id.label("treatment_id"),
            Treatment.performed_at,
            Treatment.registered_at,
            Treatment.protocol,
            (Treatment.cancelled_at.is_not(None)).label("treatment_cancelled"),
            Patient.id.label("patient_id"),
            Patient.first_name,
            Patient.phone,
            Patient.telegram_chat_id,
            Patient.timezone,
            Patient.language,
            Patient.sms_opted_out,
            Patient.sms_unreachable,
            Patient.telegram_unreachable,
            Patient.paused,
            (Patient.erased_at.is_not(None)).label("erased"),
            Clinic.name.label("clinic_name"),
            Clinic.phone.label("clinic_phone"),
            Reminder.error_code,
            Reminder.provider_message_id,
            Reminder.body,
        )
        .join(Treatment, Treatment.id == Reminder.treatment_id)
        .join(Patient, Patient.id == Reminder.patient_id)
        .join(Clinic, Clinic.id == Patient.clinic_id)
    )


def _claimed(row: Row[*tuple[Any, ...]]) -> ClaimedReminder:
    values = dict(row._mapping)
    for flag in (
        "treatment_cancelled",
        "sms_opted_out",
        "sms_unreachable",
        "telegram_unreachable",
        "paused",
        "erased",
    ):
        values[flag] = bool(values[flag])
    return ClaimedReminder(**values)
