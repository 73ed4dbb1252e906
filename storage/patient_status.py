"""A patient's status on the dashboard, in Python and in SQL from the same definitions.

Each patient has one status, the first of these that applies (`patient_status`):

- erased: their personal data was erased;
- opted out: they texted STOP and Telegram cannot reach them either;
- unreachable: a provider told us a channel cannot reach them, and none can;
- paused: reminders paused (by the patient's /stop on Telegram or by the clinic);
- active: the aftercare of their latest session that has happened is still running;
- booked: it is not, but a session is booked ahead (its plan starts at the appointment);
- completed: it is over (or the treatment was cancelled) and nothing is booked.

The list's status filter (`status_condition`) is the same chain in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, exists, not_, or_, true

from storage.models import Patient, Treatment


class PatientStatus(StrEnum):
    ACTIVE = "active"
    BOOKED = "booked"
    COMPLETED = "completed"
    PAUSED = "paused"
    OPTED_OUT = "opted_out"
    UNREACHABLE = "unreachable"
    ERASED = "erased"


@dataclass(frozen=True)
class StatusFacts:
    """What a patient's status is decided from."""

    erased: bool
    paused: bool
    sms_opted_out: bool
    sms_unreachable: bool
    telegram_unreachable: bool
    has_phone: bool
    telegram_linked: bool
    treated_at: datetime | None  # the latest session (not cancelled) that has happened
    booked_at: datetime | None = None  # the next session (not cancelled) booked ahead


def patient_status(facts: StatusFacts, completed_before: datetime) -> PatientStatus:
    """The first status that applies. `completed_before`: a treatment performed before
    this instant has nothing left to send (now minus the protocol's span). Pure."""
    sms_ok = facts.has_phone and not facts.sms_unreachable and not facts.sms_opted_out
    telegram_ok = facts.telegram_linked and not facts.telegram_unreachable
    if facts.erased:
        return PatientStatus.ERASED
    if facts.sms_opted_out and not telegram_ok:
        return PatientStatus.OPTED_OUT
    if (facts.sms_unreachable or facts.telegram_unreachable) and not sms_ok and not telegram_ok:
        return PatientStatus.UNREACHABLE
    if facts.paused:
        return PatientStatus.PAUSED
    if facts.treated_at is not None and facts.treated_at >= completed_before:
        return PatientStatus.ACTIVE
    if facts.booked_at is not None:
        return PatientStatus.BOOKED
    return PatientStatus.COMPLETED


def _status_conditions(
    completed_before: datetime, now: datetime
) -> list[tuple[PatientStatus, ColumnElement[bool]]]:
    """`patient_status` in SQL, in the same order: a status applies when its own condition
    holds and none of the earlier ones does. `now` splits sessions that have happened from
    those booked ahead."""
    sms_ok = and_(
        Patient.phone.is_not(None), not_(Patient.sms_unreachable), not_(Patient.sms_opted_out)
    )
    telegram_ok = and_(Patient.telegram_chat_id.is_not(None), not_(Patient.telegram_unreachable))
    running = (
        exists()
        .where(
            Treatment.patient_id == Patient.id,
            Treatment.cancelled_at.is_(None),
            Treatment.performed_at >= completed_before,
            Treatment.performed_at <= now,
        )
        .correlate(Patient)
    )
    booked = (
        exists()
        .where(
            Treatment.patient_id == Patient.id,
            Treatment.cancelled_at.is_(None),
            Treatment.performed_at > now,
        )
        .correlate(Patient)
    )
    return [
        (PatientStatus.ERASED, Patient.erased_at.is_not(None)),
        (PatientStatus.OPTED_OUT, and_(Patient.sms_opted_out, not_(telegram_ok))),
        (
            PatientStatus.UNREACHABLE,
            and_(
                or_(Patient.sms_unreachable, Patient.telegram_unreachable),
                not_(sms_ok),
                not_(telegram_ok),
            ),
        ),
        (PatientStatus.PAUSED, Patient.paused.is_(True)),
        (PatientStatus.ACTIVE, running),
        (PatientStatus.BOOKED, booked),
        (PatientStatus.COMPLETED, true()),
    ]


def status_condition(
    status: PatientStatus, completed_before: datetime, now: datetime
) -> ColumnElement[bool]:
    earlier: list[ColumnElement[bool]] = []
    for candidate, condition in _status_conditions(completed_before, now):
        if candidate == status:
            return and_(*(not_(c) for c in earlier), condition)
        earlier.append(condition)
    raise ValueError(f"unknown patient status {status!r}")


def facts_of(
    patient: Patient, treated_at: datetime | None, booked_at: datetime | None = None
) -> StatusFacts:
    return StatusFacts(
        erased=patient.erased_at is not None,
        paused=patient.paused,
        sms_opted_out=patient.sms_opted_out,
        sms_unreachable=patient.sms_unreachable,
        telegram_unreachable=patient.telegram_unreachable,
        has_phone=patient.phone is not None,
        telegram_linked=patient.telegram_chat_id is not None,
        treated_at=treated_at,
        booked_at=booked_at,
    )
