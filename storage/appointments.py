"""Treatments as booked appointments, inside the caller's transaction.

A booking system names each session with an appointment id; a cancelled or missed booking
cancels its treatment and every reminder not yet sent; a patient has one active plan at a
time, so a new session ends what is left of the earlier ones from the moment it happens,
and runs only until the next one booked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Update, func, select, update
from sqlalchemy.orm import Session

from storage.bulk import placeholder
from storage.models import Reminder, Treatment
from storage.values import STAFF_REPLY, ReminderStatus


def set_appointment_ids(session: Session, pairs: Sequence[tuple[int, str]]) -> None:
    """(treatment id, appointment id) pairs for treatments just made."""
    if pairs:  # the driver's executemany: an import sets tens of thousands at once
        marker = placeholder(session)
        session.connection().exec_driver_sql(
            f"UPDATE treatment SET appointment_id = {marker} WHERE id = {marker}",
            [(appointment, tid) for tid, appointment in pairs],
        )


def cancel_treatments(session: Session, treatment_ids: Sequence[int], now: datetime) -> int:
    """Cancel these treatments and their pending reminders (sent ones stay; so do staff
    replies, which answer the patient whatever became of the treatment); returns how many
    reminders were cancelled."""
    if not treatment_ids:
        return 0
    session.execute(
        update(Treatment)
        .where(Treatment.id.in_(treatment_ids), Treatment.cancelled_at.is_(None))
        .values(cancelled_at=now)
        .execution_options(synchronize_session=False)
    )
    result = session.execute(
        update(Reminder)
        .where(
            Reminder.treatment_id.in_(treatment_ids),
            Reminder.status == ReminderStatus.PENDING,
            Reminder.milestone != STAFF_REPLY,
        )
        .values(status=ReminderStatus.CANCELLED, last_error="appointment cancelled or missed")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def one_plan_at_a_time(
    session: Session, patient_id: int, treatment_id: int, starts_at: datetime, now: datetime
) -> int:
    """Fit a session that was added or moved (`starts_at`) among the patient's others, so
    that one plan runs at a time; returns how many reminders were cancelled.

    The sessions before it (or at the same time) stop where it starts: once it has
    happened, every pending reminder of theirs goes (leftovers that never went out); while
    it is booked ahead, those due from its start on, so the current plan runs until the
    appointment (decided now: no timer has to fire at that moment). A later session, booked
    ahead, keeps its whole plan, and this session's plan stops where that one starts (all
    of it, when that one has happened already).
    Staff replies are never cancelled: they answer the patient, whatever the plan."""
    earlier = select(Treatment.id).where(
        Treatment.patient_id == patient_id,
        Treatment.id != treatment_id,
        Treatment.performed_at <= starts_at,
    )
    conditions = [
        Reminder.patient_id == patient_id,
        Reminder.treatment_id.in_(earlier.scalar_subquery()),
        Reminder.status == ReminderStatus.PENDING,
        Reminder.milestone != STAFF_REPLY,
    ]
    if starts_at > now:
        conditions.append(Reminder.due_at >= starts_at)
    ended = session.execute(_cancel_superseded(conditions))
    next_start = session.scalar(
        select(func.min(Treatment.performed_at)).where(
            Treatment.patient_id == patient_id,
            Treatment.id != treatment_id,
            Treatment.cancelled_at.is_(None),
            Treatment.performed_at > starts_at,
        )
    )
    if next_start is None:
        return int(ended.rowcount)  # type: ignore[attr-defined]
    # The later session takes over where it starts; if it has happened, this one (older,
    # told late) has nothing left to send.
    conditions = [
        Reminder.patient_id == patient_id,
        Reminder.treatment_id == treatment_id,
        Reminder.status == ReminderStatus.PENDING,
        Reminder.milestone != STAFF_REPLY,
    ]
    if next_start > now:
        conditions.append(Reminder.due_at >= next_start)
    cut = session.execute(_cancel_superseded(conditions))
    return int(ended.rowcount) + int(cut.rowcount)  # type: ignore[attr-defined]


def _cancel_superseded(conditions: Sequence[ColumnElement[bool]]) -> Update:
    return (
        update(Reminder)
        .where(*conditions)
        .values(status=ReminderStatus.CANCELLED, last_error="a newer session started")
        .execution_options(synchronize_session=False)
    )
