"""Check-in storage: the check-in a patient was last asked, and their answers per treatment
stored with the conversation (and the escalation, which need not alert anyone)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from aftercare.wiring import Core
from scheduler.planning import NewPatient
from storage.checkins import CheckinAnswerRow, CheckinRepository, SentCheckin
from storage.conversations import ConversationRepository
from storage.db import Database
from storage.migrate import upgrade
from storage.models import AlertWindow, Base, Escalation, Reminder, ReminderStatus
from storage.patients import ClinicView
from tests.conftest import T0

HOUR = timedelta(hours=1)
CHECKINS = ("checkin_24h", "checkin_72h")


@pytest.fixture
def patient(core: Core, clinic: ClinicView) -> tuple[int, int]:
    """(patient id, treatment id)"""
    registration = core.planner.register(
        clinic.id, NewPatient("P1", "UTC", phone="+15550001111"), T0
    )
    return registration.patient_id, registration.treatment_id


def asked(
    core: Core, patient: tuple[int, int], milestone: str, sent_at: datetime, status: str = "sent"
) -> int:
    """The treatment's planned check-in reminder, marked sent (or not) at `sent_at`."""
    _, treatment_id = patient
    with core.db.session() as session:
        row = session.scalars(
            select(Reminder).where(
                Reminder.treatment_id == treatment_id, Reminder.milestone == milestone
            )
        ).one()
        row.status = status
        row.sent_at = sent_at if status == ReminderStatus.SENT else None
        return row.id


def test_the_newest_check_in_sent_within_the_window_is_found(
    core: Core, patient: tuple[int, int]
) -> None:
    repository = CheckinRepository(core.db)
    patient_id, treatment_id = patient
    first = asked(core, patient, "checkin_24h", T0 + 24 * HOUR)
    asked(core, patient, "checkin_72h", T0 + 72 * HOUR, status="pending")  # not sent yet
    now = T0 + 30 * HOUR

    found = repository.latest_sent(patient_id, CHECKINS, now - 24 * HOUR)

    assert found == SentCheckin(first, treatment_id, "checkin_24h", T0 + 24 * HOUR)
    # Sent more than 24 hours ago: no longer waiting for an answer.
    assert repository.latest_sent(patient_id, CHECKINS, T0 + 49 * HOUR - 24 * HOUR) is None
    # A protocol without check-ins asks nothing.
    assert repository.latest_sent(patient_id, (), now - 24 * HOUR) is None
    # Other milestones are not check-ins.
    assert repository.latest_sent(patient_id, ("makeup",), now - 24 * HOUR) is None

    second = asked(core, patient, "checkin_72h", T0 + 72 * HOUR + HOUR)  # now sent
    later = repository.latest_sent(patient_id, CHECKINS, T0 + 73 * HOUR)
    assert later is not None and later.reminder_id == second


def test_answers_are_stored_per_treatment_with_their_conversation(
    core: Core, clinic: ClinicView, patient: tuple[int, int]
) -> None:
    patient_id, treatment_id = patient
    reminder_id = asked(core, patient, "checkin_24h", T0 + 24 * HOUR)
    checkin = SentCheckin(reminder_id, treatment_id, "checkin_24h", T0 + 24 * HOUR)
    conversations = ConversationRepository(core.db)
    common = {
        "patient_id": patient_id,
        "clinic_id": clinic.id,
        "channel": "sms",
        "reply_text": "...",
        "language": "en",
        "alert_quiet_period": HOUR,
    }

    fine = conversations.record(
        **common,  # type: ignore[arg-type]
        inbound_text="1",
        topic="checkin",
        category=None,
        at=T0 + 25 * HOUR,
        checkin=CheckinAnswerRow(checkin, 1),
    )
    unsure = conversations.record(
        **common,  # type: ignore[arg-type]
        inbound_text="2",
        topic="checkin",
        category="checkin_concern",
        at=T0 + 26 * HOUR,
        alert=False,
        checkin=CheckinAnswerRow(checkin, 2),
    )
    assert fine is not None and fine.escalation_id is None
    # A low-priority item for staff: recorded, but nobody is alerted and no alert window
    # is taken (a red flag right after it still alerts).
    assert unsure is not None and unsure.escalation_id is not None and not unsure.alert_due
    with core.db.session() as session:
        escalation = session.get(Escalation, unsure.escalation_id)
        assert escalation is not None
        assert (escalation.category, escalation.alerted_at) == ("checkin_concern", None)
        assert list(session.scalars(select(AlertWindow))) == []

    answers = CheckinRepository(core.db).answers(treatment_id)
    assert [(a.answer, a.milestone, a.reminder_id) for a in answers] == [
        (1, "checkin_24h", reminder_id),
        (2, "checkin_24h", reminder_id),
    ]
    assert [(a.conversation_id, a.escalation_id) for a in answers] == [
        (fine.conversation_id, None),
        (unsure.conversation_id, unsure.escalation_id),
    ]
    assert answers[1].answered_at == T0 + 26 * HOUR


def test_migration_0006_matches_the_model_and_knows_numbers_texted_before_it(
    tmp_path: Path,
) -> None:
    from storage.sms_numbers import SmsFirstContacts

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0005")
    db = Database(url)
    at = "'2026-03-02 15:00:00.000000'"
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO clinic (id, slug, name, phone, timezone, country, language, "
                f"created_at) VALUES (1, 'glow', 'Glow', '+15551234567', 'UTC', 'US', 'en', {at})"
            )
        )
        for pid, phone in ((1, "+15550001111"), (2, "+15550002222")):
            conn.execute(
                text(
                    "INSERT INTO patient (id, clinic_id, external_id, phone, timezone, language,"
                    " channel, sms_opted_out, sms_unreachable, telegram_unreachable, paused, "
                    f"created_at) VALUES ({pid}, 1, 'P{pid}', '{phone}', 'UTC', 'en', 'sms', "
                    f"0, 0, 0, 0, {at})"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO treatment (id, patient_id, performed_at, registered_at, "
                    f"protocol) VALUES ({pid}, {pid}, {at}, {at}, 'microneedling')"
                )
            )
            # Patient 1 had a text; patient 2's is still waiting.
            status, sent = ("sent", at) if pid == 1 else ("pending", "NULL")
            conn.execute(
                text(
                    "INSERT INTO reminder (treatment_id, patient_id, milestone, channel, due_at,"
                    " expires_at, next_attempt_at, status, attempts, sent_at) VALUES "
                    f"({pid}, {pid}, 'welcome', 'sms', {at}, {at}, {at}, '{status}', 1, {sent})"
                )
            )
    upgrade(url, "0006")

    assert SmsFirstContacts(db).never_texted(["+15550001111", "+15550002222"]) == {"+15550002222"}
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn)
        differences = [
            d
            for d in compare_metadata(context, Base.metadata)
            if "checkin_answer" in repr(d) or "sms_first_contact" in repr(d)
        ]
    db.dispose()
    assert differences == []
