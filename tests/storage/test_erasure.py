"""Erasing a patient means the same thing whether a clinic or the patient asks for it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from aftercare.wiring import Core
from scheduler.clock import FakeClock
from scheduler.planning import NewPatient
from storage.models import Patient, Reminder, ReminderStatus, Treatment
from storage.patients import ClinicView, erase_patients
from storage.reminders import Outcome


def test_erasure_removes_personal_data_cancels_what_is_unsent_and_voids_a_held_claim(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    registration = core.planner.register(
        clinic.id, NewPatient("P1", "UTC", first_name="Ana", phone="+15550001111"), clock.now()
    )
    [claimed] = core.reminders.claim_due(
        "sms", clock.now(), 1, "engine-a", clock.now() + timedelta(minutes=1)
    )
    first_erasure = clock.now()
    with core.db.session() as session:
        assert erase_patients(session, [registration.patient_id], first_erasure) == 7
    clock.advance(60)
    with core.db.session() as session:
        erase_patients(session, [registration.patient_id], clock.now())  # erasing twice is harmless
    # The engine that held the claim reports back late: the erasure stands.
    core.reminders.record([Outcome(claimed.id, ReminderStatus.SENT, clock.now())], "engine-a")
    with core.db.session() as session:
        patient = session.get(Patient, registration.patient_id)
        statuses = set(session.scalars(select(Reminder.status)))
        treatment = session.get(Treatment, registration.treatment_id)
    assert patient is not None and treatment is not None
    assert (patient.first_name, patient.phone, patient.telegram_chat_id) == (None, None, None)
    assert patient.erased_at == first_erasure and patient.paused
    assert statuses == {ReminderStatus.CANCELLED}
    assert treatment.cancelled_at == first_erasure
