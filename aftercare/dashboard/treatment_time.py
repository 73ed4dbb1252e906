"""Correcting a patient's treatment time: first a preview of the new due times, then the
change. Both run the planner's own rescheduling (Planner.reschedule_in): the preview in a
transaction that is rolled back, so it shows exactly what saving would do, by the same
rules (pending reminders move, ones now past are skipped, sent ones stay, the welcome is
not repeated)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.planning import Planner
from storage.db import Database
from storage.models import Reminder
from storage.patient_record import SessionLine
from storage.values import ReminderStatus

ChangeKind = Literal["moved", "unchanged", "added", "dropped", "kept"]


@dataclass(frozen=True)
class Rescheduling:
    """What a correction touches: the current treatment and its patient."""

    treatment_id: int
    patient_id: int
    zone: ZoneInfo  # the patient's
    channel: str
    treated_at: datetime  # the corrected time


@dataclass(frozen=True)
class DueChange:
    milestone: str
    kind: ChangeKind
    before: datetime | None  # when it is due now (None: not planned)
    after: datetime | None  # when it will be due (None: it will not be sent)
    status: str  # its status now

    @property
    def order(self) -> datetime:
        moment = self.after or self.before
        assert moment is not None
        return moment


Stored = dict[str, tuple[str, datetime]]  # milestone -> (status, due at)


def changes(before: Stored, after: Stored) -> list[DueChange]:
    """The difference the correction makes, in due order. Pure."""
    found = []
    for milestone in before.keys() | after.keys():
        old, new = before.get(milestone), after.get(milestone)
        if old is None:
            assert new is not None
            found.append(DueChange(milestone, "added", None, new[1], new[0]))
            continue
        status, due = old
        if status != ReminderStatus.PENDING:
            found.append(DueChange(milestone, "kept", due, None, status))
        elif new is None or new[0] != ReminderStatus.PENDING:
            found.append(DueChange(milestone, "dropped", due, None, status))
        elif new[1] == due:
            found.append(DueChange(milestone, "unchanged", due, due, status))
        else:
            found.append(DueChange(milestone, "moved", due, new[1], status))
    return sorted(found, key=lambda change: (change.order, change.milestone))


def crossed_session(
    sessions: Sequence[SessionLine], moved: SessionLine, treated_at: datetime
) -> SessionLine | None:
    """Another standing session that correcting `moved` to `treated_at` would reach or
    pass, or None. Sessions keep their order: the one booked ahead is the booking export's
    to move, and each plan ends where the next session starts. Pure."""
    for other in sessions:
        if other.id == moved.id or other.cancelled_at is not None:
            continue
        if (
            moved.performed_at < other.performed_at <= treated_at
            or treated_at <= other.performed_at < moved.performed_at
        ):
            return other
    return None


def _stored(session: Session, change: Rescheduling) -> Stored:
    rows = session.execute(
        select(Reminder.milestone, Reminder.status, Reminder.due_at).where(
            Reminder.patient_id == change.patient_id,  # indexed, unlike treatment_id alone
            Reminder.treatment_id == change.treatment_id,
        )
    )
    return {milestone: (status, due_at) for milestone, status, due_at in rows}


def preview(db: Database, planner: Planner, change: Rescheduling, now: datetime) -> list[DueChange]:
    """What saving `change` would do, computed by doing it and rolling it back."""
    with Session(db.engine) as session:
        session.begin()
        try:
            before = _stored(session, change)
            _reschedule(session, planner, change, now)
            session.flush()
            after = _stored(session, change)
        finally:
            session.rollback()
    return changes(before, after)


def save(
    db: Database,
    planner: Planner,
    change: Rescheduling,
    now: datetime,
    audit: Callable[[Session], None],
) -> None:
    with db.session() as session:
        _reschedule(session, planner, change, now)
        audit(session)


def _reschedule(session: Session, planner: Planner, change: Rescheduling, now: datetime) -> None:
    planner.reschedule_in(
        session,
        change.treatment_id,
        change.patient_id,
        change.zone,
        change.channel,
        change.treated_at,
        now,
    )
