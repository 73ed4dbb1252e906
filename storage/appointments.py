"""Treatments as booked appointments, inside the caller's transaction.

A booking system names each session with an appointment id; a cancelled or missed booking
cancels its treatment and every reminder not yet sent; a patient has one active plan at a
time, so a new session ends what is left of the earlier ones from the moment it happens.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text, update
from sqlalchemy.orm import Session

from storage.models import Reminder, Treatment
from storage.values import ReminderStatus


def set_appointment_ids(session: Session, pairs: Sequence[tuple[int, str]]) -> None:
    """(treatment id, appointment id) pairs for treatments just made."""
    if pairs:  # a plain executemany: an import sets tens of thousands at once
        session.execute(
            text("UPDATE treatment SET appointment_id = :appointment WHERE id = :tid"),
            [{"tid": tid, "appointment": appointment} for tid, appointment in pairs],
        )


def cancel_treatments(session: Session, treatment_ids: Sequence[int], now: datetime) -> int:
    """Cancel these treatments and their pending reminders (sent ones stay); returns how
    many reminders were cancelled."""
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
        )
        .values(status=ReminderStatus.CANCELLED, last_error="appointment cancelled or missed")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def end_earlier_plans(
    session: Session, patient_id: int, new_treatment_id: int, starts_at: datetime, now: datetime
) -> int:
    """The patient's other plans stop where the new session starts. A session that has
    happened cancels every pending reminder of the others (leftovers that never went out);
    one booked ahead cancels those due from its start on, so the current plan runs until
    the appointment (decided now: no timer has to fire at that moment)."""
    conditions = [
        Reminder.patient_id == patient_id,
        Reminder.treatment_id != new_treatment_id,
        Reminder.status == ReminderStatus.PENDING,
    ]
    if starts_at > now:
        conditions.append(Reminder.due_at >= starts_at)
    result = session.execute(
        update(Reminder)
        .where(*conditions)
        .values(status=ReminderStatus.CANCELLED, last_error="a newer session started")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
