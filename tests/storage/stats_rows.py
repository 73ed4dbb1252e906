"""Rows written straight into the tables for the statistics tests (storage and pages)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from storage.models import Escalation, Patient, Reminder, Treatment, UTCDateTime

WEEK_A = datetime(2026, 2, 16, 5, 0, tzinfo=UTC)  # Monday 00:00 in New York (EST)
WEEK_B = WEEK_A + timedelta(days=7)
END = WEEK_B + timedelta(days=7)


def at(day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, 2, day, hour, minute, tzinfo=UTC)


class Rows:
    """Writes the rows a test needs, straight into the tables."""

    def __init__(self, session: Session, clinic_id: int) -> None:
        self.session = session
        self.clinic_id = clinic_id
        self.count = 0

    def patient(
        self,
        created: datetime,
        *,
        clinic_id: int | None = None,
        opted_out: bool = False,
        updated: datetime | None = None,
    ) -> Treatment:
        self.count += 1
        patient = Patient(
            clinic_id=clinic_id or self.clinic_id,
            external_id=f"P{self.count}",
            timezone="America/New_York",
            phone=f"+1212555{self.count:04d}",
            sms_opted_out=opted_out,
            created_at=created,
            updated_at=updated,
        )
        self.session.add(patient)
        self.session.flush()
        treatment = Treatment(patient_id=patient.id, performed_at=created, registered_at=created)
        self.session.add(treatment)
        self.session.flush()
        return treatment

    def reminder(
        self,
        treatment: Treatment,
        channel: str,
        status: str,
        settled: datetime | None,
        *,
        delivery: str | None = None,
        segments: int | None = None,
    ) -> None:
        self.count += 1
        self.session.add(
            Reminder(
                treatment_id=treatment.id,
                patient_id=treatment.patient_id,
                milestone=f"m{self.count}",
                channel=channel,
                due_at=settled or END,
                expires_at=END,
                next_attempt_at=settled or END,
                status=status,
                delivery_status=delivery,
                segments=segments,
                settled_at=settled,
                sent_at=settled if status == "sent" else None,
            )
        )

    def escalation(
        self, treatment: Treatment, category: str, created: datetime, clinic_id: int | None = None
    ) -> int:
        escalation = Escalation(
            clinic_id=clinic_id or self.clinic_id,
            patient_id=treatment.patient_id,
            category=category,
            created_at=created,
        )
        self.session.add(escalation)
        self.session.flush()
        return escalation.id

    def staff_reply(
        self, treatment: Treatment, escalation_id: int, replied: datetime, **extra: Any
    ) -> None:
        """A reply as migration 0010 stores it: a reminder row naming its escalation."""
        self.session.execute(
            text(
                "INSERT INTO reminder (treatment_id, patient_id, milestone, channel, due_at, "
                "expires_at, next_attempt_at, status, attempts, escalation_id, segments, "
                "settled_at) VALUES (:treatment, :patient, 'staff_reply', 'sms', :due, :due, "
                ":due, :status, 0, :escalation, :segments, :settled)"
            ).bindparams(
                bindparam("due", type_=UTCDateTime()),
                bindparam("settled", type_=UTCDateTime()),
            ),
            {
                "treatment": treatment.id,
                "patient": treatment.patient_id,
                "due": replied,
                "escalation": escalation_id,
                "status": extra.get("status", "pending"),
                "segments": extra.get("segments"),
                "settled": extra.get("settled"),
            },
        )
