"""A patient's plan as they ask for it (Telegram /plan, SMS PLAN): the session their aftercare
is about, its reminders, and the next session when one is booked ahead.

The plan is the latest session that has happened (the one the FAQ answers speak of), or the
one booked ahead when none has happened yet; the next session is the earliest one still
ahead, so a patient between two sessions sees both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Reminder, Treatment
from storage.patients import current_treatment
from storage.values import STAFF_REPLY


@dataclass(frozen=True)
class PlanRow:
    milestone: str
    status: str
    due_at: datetime


@dataclass(frozen=True)
class PatientPlan:
    treatment_id: int
    performed_at: datetime
    protocol: str  # the key of the protocol the treatment was planned with
    rows: list[PlanRow]  # its reminders, staff replies left out
    next_session: datetime | None  # the earliest session still ahead, if any


def next_session(session: Session, patient_id: int, now: datetime) -> datetime | None:
    """When the patient's earliest session still ahead of `now` is, or None."""
    return session.scalar(
        select(Treatment.performed_at)
        .where(
            Treatment.patient_id == patient_id,
            Treatment.cancelled_at.is_(None),
            Treatment.performed_at > now,
        )
        .order_by(Treatment.performed_at, Treatment.id)
        .limit(1)
    )


def patient_plan(session: Session, patient_id: int, now: datetime) -> PatientPlan | None:
    """The patient's plan at `now`; None when no treatment of theirs stands."""
    treatment = current_treatment(session, patient_id, now)
    if treatment is None:
        return None
    rows = session.execute(
        select(Reminder.milestone, Reminder.status, Reminder.due_at).where(
            Reminder.treatment_id == treatment.id, Reminder.milestone != STAFF_REPLY
        )
    ).all()
    return PatientPlan(
        treatment.id,
        treatment.performed_at,
        treatment.protocol,
        [PlanRow(milestone, str(status), due_at) for milestone, status, due_at in rows],
        next_session(session, patient_id, now),
    )
