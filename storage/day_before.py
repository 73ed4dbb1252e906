"""A clinic's switch for the reminders before a booked treatment (the day-before one)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import Clinic, Patient
from storage.patients import NotFoundError


def save_day_before(
    db: Database, slug: str, on: bool, audit: Callable[[Session, int], None] | None = None
) -> None:
    """Turn the clinic's reminders before the treatment on or off (new plans only).
    `audit` records the change in the same transaction (given the clinic's id)."""
    with db.session() as session:
        clinic = session.scalar(select(Clinic).where(Clinic.slug == slug))
        if clinic is None:
            raise NotFoundError(f"no clinic {slug!r}")
        clinic.day_before_reminder = on
        if audit is not None:
            audit(session, clinic.id)


def day_before_on(session: Session, clinic_id: int) -> bool:
    """Whether the clinic's booked patients get reminders before the treatment."""
    return bool(session.scalar(select(Clinic.day_before_reminder).where(Clinic.id == clinic_id)))


def day_before_on_for_patient(session: Session, patient_id: int) -> bool:
    """`day_before_on` for the patient's clinic."""
    return bool(
        session.scalar(
            select(Clinic.day_before_reminder)
            .join(Patient, Patient.clinic_id == Clinic.id)
            .where(Patient.id == patient_id)
        )
    )
