"""A clinic's switch for the reminders before a booked treatment (the day-before one)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.clinic_columns import ClinicAudit, change_clinic
from storage.db import Database
from storage.models import Clinic, Patient


def save_day_before(db: Database, slug: str, on: bool, audit: ClinicAudit | None = None) -> None:
    """Turn the clinic's reminders before the treatment on or off (new plans only)."""

    def change(clinic: Clinic) -> None:
        clinic.day_before_reminder = on

    change_clinic(db, slug, change, audit)


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
