"""The Telegram queries on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from aftercare.wiring import Core
from scheduler.clock import FakeClock
from scheduler.planning import NewPatient
from storage.models import Conversation, Patient, Reminder, Treatment
from storage.patients import ClinicView
from storage.telegram import ChatDetails, TelegramStore
from tests.bot.telegram.conftest import book

CHAT = 555


def register(core: Core, clinic: ClinicView, external_id: str, phone: str | None = None) -> int:
    return core.planner.register(
        clinic.id,
        NewPatient(external_id, clinic.timezone, first_name="Ana", phone=phone),
        core.clock.now() - timedelta(hours=1),
    ).patient_id


def channels(core: Core, patient_id: int) -> dict[str, tuple[str, str]]:
    with core.db.session() as session:
        rows = session.scalars(select(Reminder).where(Reminder.patient_id == patient_id))
        return {r.milestone: (r.channel, r.status) for r in rows}


def test_binding_moves_pending_reminders_to_telegram_and_skips_what_the_chat_covers(
    core: Core, clinic: ClinicView
) -> None:
    store = TelegramStore(core.db)
    patient_id = register(core, clinic, "P1", phone="+15550001111")
    assert channels(core, patient_id)["makeup"] == ("sms", "pending")

    assert store.bind(patient_id, CHAT, core.clock.now(), skip=["welcome"])

    after = channels(core, patient_id)
    assert after["welcome"] == ("telegram", "skipped")
    assert after["makeup"] == ("telegram", "pending")
    view = store.patient_for_chat(CHAT, core.clock.now())
    assert view is not None and view.id == patient_id and view.treatment_id is not None


def test_a_chat_speaks_as_the_patient_bound_last(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    store = TelegramStore(core.db)
    first, second = register(core, clinic, "P1"), register(core, clinic, "P2")
    store.bind(second, CHAT, clock.now())
    clock.advance(60)
    store.bind(first, CHAT, clock.now())
    view = store.patient_for_chat(CHAT, core.clock.now())
    assert view is not None and view.id == first
    assert store.patient_at_clinic(CHAT, clinic.id) == first


def test_flags_apply_to_every_record_of_the_chat(core: Core, clinic: ClinicView) -> None:
    store = TelegramStore(core.db)
    ids = [register(core, clinic, "P1"), register(core, clinic, "P2")]
    for patient_id in ids:
        store.bind(patient_id, CHAT, core.clock.now())
    assert store.set_reachable(CHAT, False) == 2
    assert store.set_paused(CHAT, True, core.clock.now()) == 2
    assert store.set_language(CHAT, "es") == 2
    with core.db.session() as session:
        for patient in session.scalars(select(Patient)):
            assert patient.telegram_unreachable and patient.paused and patient.language == "es"


def test_erasing_forgets_the_person_and_cancels_reminders(core: Core, clinic: ClinicView) -> None:
    store = TelegramStore(core.db)
    patient_id = register(core, clinic, "P1", phone="+15550001111")
    store.bind(patient_id, CHAT, core.clock.now())
    with core.db.session() as session:
        session.add(
            Conversation(
                patient_id=patient_id,
                channel="telegram",
                inbound_text="my cheek hurts",
                reply_text="contact your clinic",
                created_at=core.clock.now(),
            )
        )

    assert store.erase(CHAT, core.clock.now()) == 1

    assert store.patient_for_chat(CHAT, core.clock.now()) is None
    with core.db.session() as session:
        patient = session.get(Patient, patient_id)
        assert patient is not None and patient.erased_at is not None
        assert (patient.first_name, patient.phone, patient.telegram_chat_id) == (None, None, None)
        conversation = session.scalars(select(Conversation)).one()
        assert conversation.inbound_text is None and conversation.reply_text is None
    assert {status for _, status in channels(core, patient_id).values()} == {"cancelled"}


def test_an_update_is_recorded_once(core: Core) -> None:
    store = TelegramStore(core.db)
    assert store.first_delivery(9001, core.clock.now())
    assert not store.first_delivery(9001, core.clock.now())
    assert store.first_delivery(9002, core.clock.now())


def test_a_new_registration_ends_earlier_plans_and_keeps_a_session_booked_ahead(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    """A patient self-registers a session from the chat between the one they had an hour
    ago (10:00 in New York) and one the clinic booked for next Monday at 10:00."""
    store = TelegramStore(core.db)
    patient_id = register(core, clinic, "P1")
    assert book(core, clinic, "2026-03-09 10:00", "B-2") == "new session"
    booked = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
    treated = clock.now() - timedelta(minutes=30)

    store.renew_registration(
        patient_id,
        ChatDetails("America/New_York", "es", "Ana"),
        clock.now(),
        lambda session, patient: core.planner.add_treatment(
            session, patient, treated, clock.now(), welcome_now=True
        ),
    )

    with core.db.session() as session:
        rows = session.execute(
            select(Treatment.performed_at, Treatment.cancelled_at, Reminder.due_at, Reminder.status)
            .join(Reminder, Reminder.treatment_id == Treatment.id)
            .where(Treatment.patient_id == patient_id)
        ).all()
    by_session: dict[datetime, set[tuple[datetime, str]]] = {}
    for performed_at, cancelled_at, due_at, status in rows:
        assert cancelled_at is None  # sessions that happened or are booked are never cancelled
        by_session.setdefault(performed_at, set()).add((due_at, str(status)))
    earlier, new = (clock.now() - timedelta(hours=1)), treated
    assert set(by_session) == {earlier, new, booked}
    assert {status for _, status in by_session[booked]} == {"pending"}
    assert {status for _, status in by_session[earlier]} == {"cancelled"}
    assert by_session[new] == {
        (due, "cancelled" if due >= booked else "pending") for due, _ in by_session[new]
    }
    assert any(due >= booked for due, _ in by_session[new])
