"""RETENTION_DAYS: a finished treatment's conversation texts and provider ids are purged once
older than the cutoff; rows, statuses and counts stay (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from aftercare.wiring import Core
from scheduler.clock import FakeClock
from scheduler.dispatcher import DispatchConfig, Dispatcher
from scheduler.planning import NewPatient
from scheduler.service import DispatchService
from storage.conversations import ConversationRepository
from storage.models import Conversation, Reminder, ReminderStatus
from storage.patients import ClinicView
from storage.retention import purge_before, retention_purge

DAYS = 180


def enrolled(
    core: Core, clinic: ClinicView, clock: FakeClock, external_id: str, treated: datetime
) -> int:
    """A patient registered when treated, whose reminders were all sent, with Twilio ids."""
    now = clock.now()
    clock.set(treated)
    registration = core.planner.register(
        clinic.id,
        NewPatient(external_id, "America/New_York", first_name="Ana", phone="+15550001111"),
        treated,
    )
    clock.set(now)
    with core.db.session() as session:
        for reminder in session.scalars(
            select(Reminder).where(Reminder.treatment_id == registration.treatment_id)
        ):
            reminder.status = ReminderStatus.SENT
            reminder.sent_at = reminder.settled_at = reminder.due_at
            reminder.provider_message_id = f"SM{reminder.id:032d}"
            reminder.delivery_status = "delivered"
    return registration.patient_id


def said(core: Core, patient_id: int | None, at: datetime, text: str = "my cheek has pus") -> int:
    clinic_id = 1 if patient_id is not None else None
    recorded = ConversationRepository(core.db).record(
        patient_id=patient_id,
        clinic_id=clinic_id,
        channel="sms",
        inbound_text=text,
        reply_text="Please call your clinic now at +1 555 123 4567.",
        topic="red_flag",
        language="en",
        category="red_flag",
        at=at,
        alert_quiet_period=timedelta(hours=1),
    )
    assert recorded is not None
    return recorded.conversation_id


def conversations(core: Core) -> dict[int, Conversation]:
    with core.db.session() as session:
        return {c.id: c for c in session.scalars(select(Conversation))}


def provider_ids(core: Core, patient_id: int) -> list[str | None]:
    with core.db.session() as session:
        return list(
            session.scalars(
                select(Reminder.provider_message_id).where(Reminder.patient_id == patient_id)
            )
        )


def test_a_finished_treatments_old_texts_and_provider_ids_are_purged_and_its_counts_stay(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    now = clock.now()
    treated = now - timedelta(days=DAYS + 20)
    finished = enrolled(core, clinic, clock, "P1", treated)
    old = said(core, finished, treated + timedelta(days=2))
    recent = said(core, finished, now - timedelta(days=10))
    stranger = said(core, None, now - timedelta(days=DAYS + 1), "who is this? call +15559990000")

    purged = purge_before(core.db, now - timedelta(days=DAYS))

    rows = conversations(core)
    assert (rows[old].inbound_text, rows[old].reply_text) == (None, None)
    assert (rows[stranger].inbound_text, rows[stranger].reply_text) == (None, None)
    assert rows[recent].inbound_text == "my cheek has pus"
    # What statistics need stays: the row, its topic, language and escalation.
    assert (rows[old].topic, rows[old].escalated, rows[old].channel) == ("red_flag", True, "sms")
    assert set(provider_ids(core, finished)) == {None}
    with core.db.session() as session:
        kept = session.execute(
            select(Reminder.status, Reminder.delivery_status, Reminder.sent_at).where(
                Reminder.patient_id == finished
            )
        ).all()
    assert kept and all(
        (status, delivery) == ("sent", "delivered") and sent for status, delivery, sent in kept
    )
    assert (purged.conversations, purged.provider_ids) == (2, len(kept))
    assert purge_before(core.db, now - timedelta(days=DAYS)).total == 0  # nothing left to do


def test_a_treatment_with_a_reminder_still_open_keeps_everything(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    now = clock.now()
    treated = now - timedelta(days=DAYS + 20)
    running = enrolled(core, clinic, clock, "P1", treated)
    with core.db.session() as session:
        session.execute(
            update(Reminder)
            .where(Reminder.patient_id == running, Reminder.milestone == "sunscreen")
            .values(status=ReminderStatus.PENDING)
        )
    conversation = said(core, running, treated + timedelta(days=1))
    assert purge_before(core.db, now - timedelta(days=DAYS)).conversations == 0
    assert conversations(core)[conversation].inbound_text == "my cheek has pus"
    assert None not in provider_ids(core, running)


def test_the_purge_works_in_small_batches_until_nothing_is_left(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    now = clock.now()
    treated = now - timedelta(days=DAYS + 20)
    patient = enrolled(core, clinic, clock, "P1", treated)
    for day in range(5):
        said(core, patient, treated + timedelta(days=day, hours=1))
    purged = purge_before(core.db, now - timedelta(days=DAYS), batch=2)
    assert purged.conversations == 5
    assert all(c.inbound_text is None for c in conversations(core).values())


async def test_the_hourly_maintenance_job_runs_the_injected_purge(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    now = clock.now()
    treated = now - timedelta(days=DAYS + 20)
    patient = enrolled(core, clinic, clock, "P1", treated)
    conversation = said(core, patient, treated + timedelta(days=1))
    dispatcher = Dispatcher(
        core.reminders, core.patients, [], core.protocols, core.protocol, clock, DispatchConfig()
    )
    service = DispatchService(dispatcher, 15, purge=retention_purge(core.db, DAYS + 30))
    await service.maintenance()
    assert conversations(core)[conversation].inbound_text is not None  # 199 days old: kept for 210
    clock.advance(timedelta(days=12))
    await service.maintenance()
    assert conversations(core)[conversation].inbound_text is None
