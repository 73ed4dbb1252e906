"""The escalation inbox, staff replies queued in the reminder outbox, and resolving."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aftercare.wiring import Core
from scheduler.clock import FakeClock
from storage.appointments import cancel_treatments
from storage.audit import AuditAction, AuditLog, AuditQuery
from storage.escalations import (
    REPLY_HEAD_START,
    REPLY_VALID_FOR,
    EscalationRepository,
    QueuedReply,
    ReplyRefused,
)
from storage.models import Escalation, Patient, Reminder
from storage.patients import ClinicView, erase_patients
from storage.retention import purge_before
from storage.values import STAFF_REPLY, ReminderStatus
from tests.storage.escalation_kit import enroll, escalate


@pytest.fixture
def other(core: Core) -> ClinicView:
    return core.patients.add_clinic("other", "Other", "+15557654321", "America/Chicago")


def test_the_inbox_lists_open_escalations_most_urgent_first_then_newest(
    core: Core, clinic: ClinicView, other: ClinicView, clock: FakeClock
) -> None:
    ana = enroll(core, clinic, "P1", clock.now()).patient_id
    ben = enroll(core, clinic, "P2", clock.now(), first_name="Ben").patient_id
    stranger = enroll(core, other, "P1", clock.now()).patient_id
    t = clock.now()
    concern = escalate(core, clinic, ana, "a bit more red", t, "checkin_concern")
    old_flag = escalate(core, clinic, ben, "yellow crust", t + timedelta(minutes=1))
    new_flag = escalate(core, clinic, ana, "pus on my cheek", t + timedelta(minutes=5))
    novel = escalate(core, clinic, ben, "something new", t + timedelta(minutes=2), "new_kind")
    emergency = escalate(core, clinic, ben, "my lips are swelling", t, "emergency")
    escalate(core, other, stranger, "not yours", t + timedelta(minutes=9), "emergency")
    resolved = escalate(core, clinic, ana, "resolved already", t + timedelta(minutes=9))
    repo = EscalationRepository(core.db)
    assert repo.resolve(clinic.id, resolved, None, 1, "n@glow.example", t) is True

    inbox = repo.inbox(clinic.id)

    # An unknown category comes after red flags, before low-priority check-in concerns.
    assert [item.escalation_id for item in inbox] == [
        emergency,
        new_flag,
        old_flag,
        novel,
        concern,
    ]
    first = inbox[1]
    assert (first.first_name, first.external_id, first.channel) == ("Ana", "P1", "sms")
    assert (first.words, first.category, first.created_at) == (
        "pus on my cheek",
        "red_flag",
        t + timedelta(minutes=5),
    )
    assert repo.inbox(clinic.id, limit=2) == inbox[:2]


def test_an_escalation_of_another_clinic_is_not_found(
    core: Core, clinic: ClinicView, other: ClinicView, clock: FakeClock
) -> None:
    patient_id = enroll(core, other, "P1", clock.now()).patient_id
    escalation_id = escalate(core, other, patient_id, "swollen", clock.now())
    repo = EscalationRepository(core.db)
    at = clock.now()

    assert repo.get(clinic.id, escalation_id) is None
    assert repo.resolve(clinic.id, escalation_id, None, 1, "n@glow.example", at) is None
    assert repo.queue_reply(clinic.id, escalation_id, "Hi", 1, "n", at, "sms") is None
    assert repo.get(other.id, escalation_id) is not None


def test_a_reply_is_a_staff_reply_reminder_due_now_ahead_of_the_queue(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    registration = enroll(core, clinic, "P1", clock.now() - timedelta(hours=2))
    escalation_id = escalate(core, clinic, registration.patient_id, "swollen", clock.now())
    audited: list[Session] = []

    queued = EscalationRepository(core.db).queue_reply(
        clinic.id,
        escalation_id,
        "Please call us on 555 0100.",
        7,
        "nurse@glow.example",
        clock.now(),
        "sms",
        audit=audited.append,
    )

    assert isinstance(queued, QueuedReply) and queued.channel == "sms"
    assert len(audited) == 1
    with core.db.session() as session:
        row = session.get(Reminder, queued.reminder_id)
        assert row is not None
        assert (row.milestone, row.channel, row.status) == (STAFF_REPLY, "sms", "pending")
        assert (row.body, row.staff_id, row.staff_email, row.escalation_id) == (
            "Please call us on 555 0100.",
            7,
            "nurse@glow.example",
            escalation_id,
        )
        assert row.treatment_id == registration.treatment_id
        assert row.due_at == clock.now()
        assert row.next_attempt_at == clock.now() - REPLY_HEAD_START == queued.wake_at
        assert row.expires_at == clock.now() + REPLY_VALID_FOR


def test_a_reply_is_filed_under_the_session_that_happened_and_outlives_a_cancelled_one(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    """Between two sessions, a reply answers about the one that happened (the patient's
    plan and the page's timeline), not the appointment booked ahead; and cancelling an
    appointment never takes back a reply still waiting to go."""
    registration = enroll(core, clinic, "P1", clock.now() - timedelta(hours=2))
    with core.db.session() as session:
        patient = session.get(Patient, registration.patient_id)
        assert patient is not None
        booked = core.planner.add_treatment(
            session, patient, clock.now() + timedelta(days=10), clock.now()
        )
    escalation_id = escalate(core, clinic, registration.patient_id, "swollen", clock.now())
    repo = EscalationRepository(core.db)

    queued = repo.queue_reply(clinic.id, escalation_id, "Call us.", 1, "n", clock.now(), "sms")
    assert isinstance(queued, QueuedReply)
    with core.db.session() as session:
        reply = session.get(Reminder, queued.reminder_id)
        assert reply is not None and reply.treatment_id == registration.treatment_id
        # The clinic's export then cancels both sessions (a mistake, say): the reply stays.
        cancel_treatments(session, [registration.treatment_id, booked.treatment_id], clock.now())
    with core.db.session() as session:
        reply = session.get(Reminder, queued.reminder_id)
        assert reply is not None and reply.status == ReminderStatus.PENDING
        others = session.scalars(
            select(Reminder.status).where(Reminder.id != queued.reminder_id)
        ).all()
        assert set(others) == {ReminderStatus.CANCELLED}


def test_a_treatment_takes_many_replies_but_each_milestone_once(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    registration = enroll(core, clinic, "P1", clock.now())
    escalation_id = escalate(core, clinic, registration.patient_id, "swollen", clock.now())
    repo = EscalationRepository(core.db)
    for words in ("First answer.", "Second answer.", "Third answer."):
        queued = repo.queue_reply(clinic.id, escalation_id, words, 1, "n", clock.now(), "sms")
        assert isinstance(queued, QueuedReply)

    with core.db.session() as session:
        replies = session.scalars(select(Reminder.body).where(Reminder.milestone == STAFF_REPLY))
        assert sorted(b or "" for b in replies) == [
            "First answer.",
            "Second answer.",
            "Third answer.",
        ]
    with pytest.raises(IntegrityError), core.db.session() as session:
        session.add(
            Reminder(
                treatment_id=registration.treatment_id,
                patient_id=registration.patient_id,
                milestone="sunscreen",
                channel="sms",
                due_at=clock.now(),
                expires_at=clock.now(),
                next_attempt_at=clock.now(),
                status=ReminderStatus.PENDING,
                attempts=0,
            )
        )


def test_a_reply_goes_where_the_patient_can_be_reached_or_is_refused(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    repo = EscalationRepository(core.db)
    both = enroll(core, clinic, "P1", clock.now(), chat_id=4242).patient_id
    sms_only = enroll(core, clinic, "P2", clock.now()).patient_id
    for patient_id in (both, sms_only):
        core.patients.set_flag(patient_id, "sms_opted_out")
    erased = enroll(core, clinic, "P3", clock.now()).patient_id
    on_both = escalate(core, clinic, both, "swollen", clock.now())
    on_sms = escalate(core, clinic, sms_only, "swollen", clock.now())
    on_erased = escalate(core, clinic, erased, "swollen", clock.now())
    with core.db.session() as session:
        erase_patients(session, [erased], clock.now())
    now = clock.now()

    moved = repo.queue_reply(clinic.id, on_both, "Hi", 1, "n", now, "telegram")
    assert isinstance(moved, QueuedReply) and moved.channel == "telegram"
    assert repo.queue_reply(clinic.id, on_both, "Hi", 1, "n", now, "sms") == ReplyRefused(
        "channel_changed"
    )
    assert repo.queue_reply(clinic.id, on_sms, "Hi", 1, "n", now, "sms") == ReplyRefused(
        "no_channel"
    )
    assert repo.queue_reply(clinic.id, on_erased, "Hi", 1, "n", now, "sms") == ReplyRefused(
        "erased"
    )
    record = repo.get(clinic.id, on_sms)
    assert record is not None and record.patient is not None
    assert record.patient.reply_channel is None


def test_resolving_records_who_and_the_note_once(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    patient_id = enroll(core, clinic, "P1", clock.now()).patient_id
    escalation_id = escalate(core, clinic, patient_id, "swollen", clock.now())
    audit = AuditLog(core.db)
    repo = EscalationRepository(core.db)

    def audited(session: Session) -> None:
        AuditLog.add(
            session,
            clock.now(),
            clinic.id,
            7,
            AuditAction.ESCALATION_RESOLVE,
            "escalation",
            escalation_id,
            actor="nurse@glow.example",
        )

    resolved_at = clock.now()
    assert repo.resolve(
        clinic.id, escalation_id, "Called back.", 7, "nurse@glow.example", resolved_at, audited
    )
    clock.advance(60)
    assert (
        repo.resolve(clinic.id, escalation_id, "Again", 8, "admin@glow.example", clock.now())
        is False
    )

    record = repo.get(clinic.id, escalation_id)
    assert record is not None and not record.is_open
    assert (record.resolved_at, record.resolved_by, record.resolution_note) == (
        resolved_at,
        "nurse@glow.example",
        "Called back.",
    )
    with core.db.session() as session:
        row = session.get(Escalation, escalation_id)
        assert row is not None and row.resolved_by_staff_id == 7
    entries = audit.entries(clinic.id, AuditQuery(action="escalation.resolve"), 10)
    assert [(e.target_id, e.actor) for e in entries] == [(str(escalation_id), "nurse@glow.example")]
    assert repo.inbox(clinic.id) == []


def test_the_record_names_the_patients_other_open_escalations(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    patient_id = enroll(core, clinic, "P1", clock.now()).patient_id
    first = escalate(core, clinic, patient_id, "swollen", clock.now())
    clock.advance(60)
    second = escalate(core, clinic, patient_id, "still swollen", clock.now(), "emergency")

    record = EscalationRepository(core.db).get(clinic.id, first)

    assert record is not None and record.patient is not None
    assert record.patient.external_id == "P1"
    assert [(other_id, category) for other_id, category, _ in record.others_open] == [
        (second, "emergency")
    ]


def test_erasure_removes_reply_texts_and_resolution_notes(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    patient_id = enroll(core, clinic, "P1", clock.now()).patient_id
    escalation_id = escalate(core, clinic, patient_id, "swollen", clock.now())
    repo = EscalationRepository(core.db)
    queued = repo.queue_reply(clinic.id, escalation_id, "Call us, Ana.", 1, "n", clock.now(), "sms")
    assert isinstance(queued, QueuedReply)
    repo.resolve(clinic.id, escalation_id, "Ana is fine.", 1, "n", clock.now())

    with core.db.session() as session:
        erase_patients(session, [patient_id], clock.now())

    with core.db.session() as session:
        reply = session.get(Reminder, queued.reminder_id)
        escalation = session.get(Escalation, escalation_id)
        assert reply is not None and escalation is not None
        assert (reply.body, reply.status) == (None, "cancelled")
        assert escalation.resolution_note is None
        assert escalation.resolved_by == "n"  # who did what stays


def test_retention_purges_the_text_of_old_replies_of_finished_treatments(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    registration = enroll(core, clinic, "P1", clock.now())
    escalation_id = escalate(core, clinic, registration.patient_id, "swollen", clock.now())
    repo = EscalationRepository(core.db)
    queued = repo.queue_reply(clinic.id, escalation_id, "Call us.", 1, "n", clock.now(), "sms")
    assert isinstance(queued, QueuedReply)
    assert purge_before(core.db, clock.now() + timedelta(days=60)).reply_texts == 0  # open
    core.planner.cancel(registration.treatment_id)  # nothing of the treatment is open now

    assert purge_before(core.db, clock.now() - timedelta(days=1)).reply_texts == 0  # too new
    purged = purge_before(core.db, clock.now() + timedelta(days=60))

    assert purged.reply_texts == 1
    with core.db.session() as session:
        reply = session.get(Reminder, queued.reminder_id)
        assert reply is not None and reply.body is None and reply.staff_email == "n"
