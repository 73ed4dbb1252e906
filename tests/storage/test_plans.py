"""storage.plans: the session a patient's plan is about and their next session, on SQLite
and PostgreSQL."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from aftercare.wiring import Core
from clinic.importer import Importer
from scheduler.clock import FakeClock
from scheduler.planning import NewPatient
from storage.enrollment import EnrollmentStore
from storage.patients import ClinicView
from storage.plans import patient_plan


def book(core: Core, clinic: ClinicView, at: datetime, appointment: str, status: str) -> str:
    """One booking-export row for patient P1 through the importer; returns its action."""
    export = (
        "external_id,treatment_at,appointment_id,status\n"
        f"P1,{at.isoformat()},{appointment},{status}\n"
    ).encode()
    store = EnrollmentStore(core.db)
    importer = Importer(store, core.planner, invite_ttl=timedelta(days=1), invite_link=None)
    actions: list[str] = []
    importer.run(
        store.profile(clinic.slug), io.BytesIO(export), on_row=lambda o: actions.append(o.action)
    )
    [action] = actions
    return action


def test_the_plan_is_the_session_that_happened_and_the_next_one_is_named(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    treated = clock.now() - timedelta(hours=2)
    patient_id = core.planner.register(
        clinic.id, NewPatient("P1", "America/New_York", phone="+12125550199"), treated
    ).patient_id
    with core.db.session() as session:
        alone = patient_plan(session, patient_id, clock.now())
    assert alone is not None
    assert (alone.performed_at, alone.next_session) == (treated, None)
    assert "welcome" in {row.milestone for row in alone.rows}

    booked = clock.now() + timedelta(days=7)
    cancelled = clock.now() + timedelta(days=3)
    assert book(core, clinic, booked, "B-2", "Booked") == "new session"
    assert book(core, clinic, cancelled, "B-3", "Booked") == "new session"
    assert book(core, clinic, cancelled, "B-3", "Cancelled") == "cancelled"
    with core.db.session() as session:
        between = patient_plan(session, patient_id, clock.now())
        assert between is not None
        assert (between.performed_at, between.next_session) == (treated, booked)

        after = patient_plan(session, patient_id, booked + timedelta(hours=1))
        assert after is not None
        assert (after.performed_at, after.next_session) == (booked, None)
        assert after.treatment_id != between.treatment_id


def test_a_patient_enrolled_ahead_has_that_session_as_both_plan_and_next(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    booked = clock.now() + timedelta(days=2)
    patient_id = core.planner.register(
        clinic.id, NewPatient("P1", "America/New_York", phone="+12125550199"), booked
    ).patient_id
    with core.db.session() as session:
        plan = patient_plan(session, patient_id, clock.now())
        assert plan is not None
        assert (plan.performed_at, plan.next_session) == (booked, booked)
        assert patient_plan(session, patient_id + 1, clock.now()) is None
