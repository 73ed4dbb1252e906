"""One patient as staff see and change them, on SQLite and PostgreSQL: scoped to the clinic,
and every change committed together with its audit entry or not at all."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from aftercare.wiring import Core
from scheduler.clock import FakeClock
from scheduler.planning import NewPatient
from storage.audit import AuditAction, AuditLog, AuditQuery
from storage.models import Patient, Reminder
from storage.patient_record import PatientRecords, channel_problem
from storage.patient_status import facts_of
from storage.patients import ClinicView


def enroll(
    core: Core,
    clinic: ClinicView,
    external_id: str = "P1",
    phone: str | None = "+12125550199",
    channel: str | None = None,
) -> int:
    registration = core.planner.register(
        clinic.id,
        NewPatient(external_id, "America/New_York", "en", "Ana", phone, channel=channel),
        core.clock.now() - timedelta(hours=2),
    )
    return registration.patient_id


def recorded(core: Core, clinic: ClinicView, action: AuditAction) -> int:
    return len(AuditLog(core.db).entries(clinic.id, AuditQuery(action=action.value), 10))


def audit_hook(core: Core, clinic: ClinicView, action: AuditAction) -> Callable[[Session], None]:
    def hook(session: Session) -> None:
        AuditLog.add(session, core.clock.now(), clinic.id, 1, action, "patient", "1")

    return hook


class Refused(Exception):
    pass


def failing_hook(_session: Session) -> None:
    raise Refused


def test_a_patient_is_read_with_the_current_treatments_reminders(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    patient_id = enroll(core, clinic)

    record = PatientRecords(core.db).get(clinic.id, "P1", clock.now())

    assert record is not None and record.id == patient_id
    assert record.treatment is not None
    assert record.treatment.performed_at == clock.now() - timedelta(hours=2)
    assert {"welcome", "makeup", "sunscreen"} <= {r.milestone for r in record.reminders}
    assert {r.status for r in record.reminders} == {"pending"}
    assert record.escalations == [] and record.checkins == []
    assert record.invite_open_until is None


def test_a_patients_sessions_name_the_current_plan_and_the_next_one_booked(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    """Newest first, cancelled ones too; the current plan is the latest session that has
    happened (its reminders are the record's), the next booked one comes with its own plan."""
    patient_id = enroll(core, clinic)  # two hours ago
    now = clock.now()
    with core.db.session() as session:
        patient = session.get(Patient, patient_id)
        assert patient is not None
        later = core.planner.add_treatment(session, patient, now + timedelta(days=30), now)
        nearer = core.planner.add_treatment(session, patient, now + timedelta(days=10), now)
        dropped = core.planner.add_treatment(session, patient, now + timedelta(days=5), now)
    core.planner.cancel(dropped.treatment_id)

    record = PatientRecords(core.db).get(clinic.id, "P1", now)

    assert record is not None and record.treatment is not None
    assert [(s.performed_at - now).days for s in record.sessions] == [30, 10, 5, -1]
    assert [s.cancelled_at is not None for s in record.sessions] == [False, False, True, False]
    assert record.treatment.performed_at == now - timedelta(hours=2)
    assert record.upcoming is not None and record.upcoming.id == nearer.treatment_id
    assert record.upcoming.id != later.treatment_id
    assert {r.milestone for r in record.upcoming_plan} >= {"welcome", "sunscreen"}
    assert min(r.due_at for r in record.upcoming_plan) > now + timedelta(days=10)
    assert min(r.due_at for r in record.reminders) <= now  # the welcome, at enrollment
    assert not {r.id for r in record.reminders} & {r.id for r in record.upcoming_plan}
    assert record.facts.treated_at == now - timedelta(hours=2)
    assert record.facts.booked_at == now + timedelta(days=10)

    # Before the first session has happened, its plan is the current one.
    before = PatientRecords(core.db).get(clinic.id, "P1", now - timedelta(hours=3))
    assert before is not None and before.treatment is not None
    assert before.treatment.performed_at == now - timedelta(hours=2)
    assert before.upcoming == before.treatment and before.upcoming_plan == []
    assert before.facts.treated_at is None


def test_another_clinics_patient_is_missing_for_reads_and_changes(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    other = core.patients.add_clinic("other", "Other", "+13125550100", "America/Chicago")
    theirs = enroll(core, other, "X1")
    records = PatientRecords(core.db)
    hook = audit_hook(core, clinic, AuditAction.PATIENT_PAUSE)

    assert records.get(clinic.id, "X1", clock.now()) is None
    assert records.set_paused(clinic.id, theirs, True, clock.now(), hook) is False
    assert records.erase(clinic.id, theirs, clock.now(), hook) is None
    assert records.set_channel(clinic.id, theirs, "sms", clock.now(), hook) == "missing"
    with core.db.session() as session:
        patient = session.get(Patient, theirs)
        assert patient is not None and not patient.paused and patient.erased_at is None


def test_a_change_and_its_audit_entry_commit_together(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    patient_id = enroll(core, clinic)
    records = PatientRecords(core.db)

    with pytest.raises(Refused):
        records.set_paused(clinic.id, patient_id, True, clock.now(), failing_hook)
    with pytest.raises(Refused):
        records.erase(clinic.id, patient_id, clock.now(), failing_hook)
    records.set_paused(
        clinic.id,
        patient_id,
        True,
        clock.now(),
        audit_hook(core, clinic, AuditAction.PATIENT_PAUSE),
    )

    record = records.get(clinic.id, "P1", clock.now())
    assert record is not None and record.facts.paused and record.erased_at is None
    assert recorded(core, clinic, AuditAction.PATIENT_PAUSE) == 1


def test_a_new_channel_takes_the_pending_reminders_along(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    patient_id = enroll(core, clinic, channel="telegram")
    records = PatientRecords(core.db)
    hook = audit_hook(core, clinic, AuditAction.PATIENT_CHANNEL)

    refused = records.set_channel(clinic.id, patient_id, "telegram", clock.now(), hook)
    moved = records.set_channel(clinic.id, patient_id, "sms", clock.now(), hook)

    assert refused == "no_telegram"  # enrolled for Telegram, but not linked yet
    assert moved is None
    with core.db.session() as session:
        channels = set(
            session.scalars(select(Reminder.channel).where(Reminder.patient_id == patient_id))
        )
    assert channels == {"sms"}


def test_why_a_channel_cannot_reach_a_patient(core: Core, clinic: ClinicView) -> None:
    patient_id = enroll(core, clinic, phone=None, channel="telegram")
    with core.db.session() as session:
        patient = session.get(Patient, patient_id)
        assert patient is not None
        facts = facts_of(patient, None)
        session.execute(update(Patient).where(Patient.id == patient_id).values(telegram_chat_id=5))
        linked = facts_of(session.get(Patient, patient_id) or patient, None)

    assert channel_problem(facts, "sms") == "no_phone"
    assert channel_problem(facts, "telegram") == "no_telegram"
    assert channel_problem(facts, "fax") == "unknown"
    assert channel_problem(linked, "telegram") is None


def test_an_invite_is_made_only_for_a_patient_not_yet_on_telegram(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    waiting = enroll(core, clinic, "P1", channel="telegram")
    linked = enroll(core, clinic, "P2")
    with core.db.session() as session:
        session.execute(update(Patient).where(Patient.id == linked).values(telegram_chat_id=9))
    records = PatientRecords(core.db)
    hook = audit_hook(core, clinic, AuditAction.PATIENT_INVITE)

    token = records.new_invite(clinic.id, waiting, clock.now(), timedelta(days=1), hook)
    none = records.new_invite(clinic.id, linked, clock.now(), timedelta(days=1), hook)

    assert token is not None and none is None
    record = records.get(clinic.id, "P1", clock.now())
    assert record is not None and record.invite_open_until == clock.now() + timedelta(days=1)
    assert recorded(core, clinic, AuditAction.PATIENT_INVITE) == 1


def test_erasing_is_the_apis_erasure(core: Core, clinic: ClinicView, clock: FakeClock) -> None:
    patient_id = enroll(core, clinic)
    records = PatientRecords(core.db)
    hook = audit_hook(core, clinic, AuditAction.PATIENT_ERASE)
    before = records.get(clinic.id, "P1", clock.now())

    cancelled = records.erase(clinic.id, patient_id, clock.now(), hook)
    paused = records.set_paused(clinic.id, patient_id, False, clock.now(), hook)

    record = records.get(clinic.id, "P1", clock.now())
    assert before is not None and record is not None
    assert cancelled == len(before.reminders)
    assert (record.first_name, record.phone, record.erased_at) == (None, None, clock.now())
    assert record.treatment is None  # cancelled with its reminders
    with core.db.session() as session:
        statuses = set(
            session.scalars(select(Reminder.status).where(Reminder.patient_id == patient_id))
        )
    assert statuses == {"cancelled"}
    assert paused is False  # an erased patient stays as erasure left them
    assert recorded(core, clinic, AuditAction.PATIENT_ERASE) == 1
