"""The planner: the one writer of new patients, treatments and plans, and its "planned"
notification, heard only once the plan is committed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from aftercare.wiring import Core
from scheduler.clock import FakeClock
from scheduler.planning import NewPatient, NewTreatment
from storage.bulk import NEW_PATIENT_FLAGS
from storage.models import Patient, Reminder, Treatment
from storage.patients import ClinicView


def test_every_way_in_stores_a_new_patient_with_the_same_defaults(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    core.planner.register(clinic.id, NewPatient("ONE", "UTC", phone="+15550001111"), clock.now())
    core.planner.register_batch(
        clinic.id,
        [
            (NewPatient("MANY", "UTC", telegram_chat_id=42), clock.now()),
            (NewPatient("BOTH", "UTC", phone="+15550002222", telegram_chat_id=43), clock.now()),
        ],
    )
    with core.db.session() as session:
        patients = {p.external_id: p for p in session.scalars(select(Patient))}
    for patient in patients.values():
        assert {flag: getattr(patient, flag) for flag in NEW_PATIENT_FLAGS} == {
            "sms_opted_out": False,
            "sms_unreachable": False,
            "telegram_unreachable": False,
            "paused": False,
        }
        assert patient.created_at == clock.now()
    # The preferred channel: Telegram only for a chat without a phone.
    assert {key: p.channel for key, p in patients.items()} == {
        "ONE": "sms",
        "MANY": "telegram",
        "BOTH": "sms",
    }
    assert patients["MANY"].telegram_chat_id == 42


def test_a_batch_returns_each_patient_with_its_own_treatment_and_plan(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    treated = [clock.now() - timedelta(hours=hours) for hours in (1, 30, 60)]
    registrations = core.planner.register_batch(
        clinic.id,
        [(NewPatient(f"P{n}", "UTC", phone="+15550001111"), t) for n, t in enumerate(treated)],
    )
    with core.db.session() as session:
        stored = {t.id: (t.patient_id, t.performed_at) for t in session.scalars(select(Treatment))}
        reminders = {
            treatment_id: count
            for treatment_id, count in session.execute(
                select(Reminder.treatment_id, func.count()).group_by(Reminder.treatment_id)
            )
        }
    for registration, performed_at in zip(registrations, treated, strict=True):
        assert stored[registration.treatment_id] == (registration.patient_id, performed_at)
        assert reminders[registration.treatment_id] == len(registration.planned)
    # Longer ago, fewer milestones still ahead.
    counts = [len(r.planned) for r in registrations]
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1]


def test_a_second_treatment_for_the_same_patient_in_one_batch_is_refused(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    registration = core.planner.register(
        clinic.id, NewPatient("P1", "UTC", phone="+15550001111"), clock.now()
    )
    twice = [
        NewTreatment(registration.patient_id, "UTC", "sms", clock.now()),
        NewTreatment(registration.patient_id, "UTC", "sms", clock.now()),
    ]
    with (
        pytest.raises(ValueError, match="one new treatment per patient"),
        core.db.session() as session,
    ):
        core.planner.add_treatments(
            session, twice, clock.now(), core.planner.planning(session, clinic.id)
        )


def test_subscribers_hear_the_earliest_due_time_once_the_plan_is_committed(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    heard: list[datetime] = []
    core.planner.subscribe(heard.append)
    with core.db.session() as session:
        [registration] = core.planner.enroll(
            session,
            clinic.id,
            [(NewPatient("P1", "UTC", phone="+15550001111").insert_row(), clock.now())],
            clock.now(),
        )
        assert heard == []  # not yet: an engine would find nothing to send
    assert heard == [min(p.due_at for p in registration.planned)]


def test_a_plan_rolled_back_is_never_announced(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    heard: list[datetime] = []
    core.planner.subscribe(heard.append)

    def enroll_then_fail() -> None:
        with core.db.session() as session:
            core.planner.enroll(
                session,
                clinic.id,
                [(NewPatient("P1", "UTC", phone="+15550001111").insert_row(), clock.now())],
                clock.now(),
            )
            raise RuntimeError("the caller changed its mind")

    with pytest.raises(RuntimeError, match="changed its mind"):
        enroll_then_fail()
    assert heard == []
    with core.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == 0


def test_one_transaction_with_several_plans_is_announced_once(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    heard: list[datetime] = []
    core.planner.subscribe(heard.append)
    first = core.planner.register(
        clinic.id, NewPatient("P1", "UTC", phone="+15550001111"), clock.now()
    )
    assert len(heard) == 1
    clock.advance(60)
    with core.db.session() as session:
        core.planner.add_treatments(
            session,
            [NewTreatment(first.patient_id, "UTC", "sms", clock.now() - timedelta(hours=1))],
            clock.now(),
            core.planner.planning(session, clinic.id),
        )
        core.planner.enroll(
            session,
            clinic.id,
            [(NewPatient("P2", "UTC", phone="+15550002222").insert_row(), clock.now())],
            clock.now(),
        )
    assert heard[1:] == [clock.now()]  # both welcomes are due now: one wake-up


def test_an_unsubscribed_listener_hears_nothing_more(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    heard: list[datetime] = []
    core.planner.subscribe(heard.append)
    core.planner.register(clinic.id, NewPatient("P1", "UTC", phone="+15550001111"), clock.now())
    core.planner.unsubscribe(heard.append)
    core.planner.register(clinic.id, NewPatient("P2", "UTC", phone="+15550001111"), clock.now())
    assert len(heard) == 1


def test_a_corrected_treatment_time_is_announced_too(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    registration = core.planner.register(
        clinic.id, NewPatient("P1", "UTC", phone="+15550001111"), clock.now()
    )
    heard: list[datetime] = []
    core.planner.subscribe(heard.append)
    planned = core.planner.reschedule(registration.treatment_id, clock.now() - timedelta(hours=2))
    assert heard == [min(p.due_at for p in planned)]


def test_a_correction_can_be_kept_to_past_times(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    """A patient corrects a treatment that happened: never into the future (where the
    clinic's own appointments are)."""
    registration = core.planner.register(
        clinic.id, NewPatient("P1", "UTC", phone="+15550001111"), clock.now() - timedelta(hours=3)
    )
    with pytest.raises(ValueError, match="in the future"):
        core.planner.reschedule(
            registration.treatment_id, clock.now() + timedelta(hours=1), ahead=timedelta(0)
        )
    with core.db.session() as session:
        treatment = session.get(Treatment, registration.treatment_id)
        assert treatment is not None
        assert treatment.performed_at == clock.now() - timedelta(hours=3)
    # The clinic may still move an appointment ahead.
    core.planner.reschedule(registration.treatment_id, clock.now() + timedelta(hours=1))
