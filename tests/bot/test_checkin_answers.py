"""Check-in answers through the conversation core, on both databases: within 24 hours of a
check-in sent to the patient a bare 1, 2 or 3 is an answer, recorded per treatment;
3 alerts the clinic like a described warning sign, 2 is a low-priority item that alerts
nobody, 1 is reassurance. Without an open check-in, "1" is an ordinary question."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from aftercare.wiring import Core, build_inbound
from bot.channel import InboundHandler
from bot.memory import MemoryChannel
from scheduler.clock import FakeClock
from scheduler.planning import Registration
from scheduler.ports import Channel
from scheduler.protocol_catalog import ProtocolCatalog
from storage.checkins import CheckinRepository
from storage.models import Clinic, Conversation, Escalation, Reminder
from storage.patients import ClinicView
from tests.scheduler.engine_kit import make_engine, register

STAFF_CHAT = -100123
HOUR = timedelta(hours=1)


@pytest.fixture
def staff(clock: FakeClock) -> dict[str, MemoryChannel]:
    """Where the clinic's staff are alerted."""
    return {"telegram": MemoryChannel("telegram", clock.now)}


@pytest.fixture
def handler(core: Core, clinic: ClinicView, staff: dict[str, MemoryChannel]) -> InboundHandler:
    with core.db.session() as session:
        session.execute(
            update(Clinic).where(Clinic.id == clinic.id).values(staff_telegram_chat_id=STAFF_CHAT)
        )
    channels: dict[str, Channel] = dict(staff)
    return build_inbound(core, channels)


@pytest.fixture
def treated(core: Core, clinic: ClinicView, clock: FakeClock) -> Registration:
    """Ana, treated an hour ago, enrolled for SMS."""
    return register(core, clinic, "P1", clock.now() - HOUR)


async def send_checkin(core: Core, clock: FakeClock, treated: Registration, key: str) -> int:
    """Run the engine to the check-in's due time: it is sent (with the step due with it)."""
    engine = make_engine(core, clock)
    await engine.run()  # the welcome
    due = next(p.due_at for p in treated.planned if p.key == key)
    clock.set(due)
    await engine.run()
    [asked] = [d for d in engine.sms.sent if "Reply 1 = as expected" in d.message.text]
    assert asked.message.reminder_id is not None
    return asked.message.reminder_id


def escalations(core: Core) -> list[Escalation]:
    with core.db.session() as session:
        return list(session.scalars(select(Escalation).order_by(Escalation.id)))


def conversations(core: Core) -> list[Conversation]:
    with core.db.session() as session:
        return list(session.scalars(select(Conversation).order_by(Conversation.id)))


async def test_3_after_a_check_in_escalates_and_alerts_the_clinic(
    core: Core,
    handler: InboundHandler,
    staff: dict[str, MemoryChannel],
    treated: Registration,
    clock: FakeClock,
) -> None:
    checkin_id = await send_checkin(core, clock, treated, "checkin_24h")
    clock.advance(2 * HOUR)

    answer = await handler.handle(channel="sms", text="3", patient_id=treated.patient_id)

    described = await handler.handle(
        channel="sms", text="there is pus and it feels hot", patient_id=treated.patient_id
    )
    assert answer.escalated and answer.topic == "red_flag"
    assert answer.text == described.text  # word for word the warning-sign answer
    first, _ = escalations(core)
    assert (first.category, first.alerted_at) == ("red_flag", clock.now())
    [alert] = staff["telegram"].sent  # one alert; the described sign within the hour adds none
    assert f"Escalation {first.id} (red flag)" in alert.message.text
    assert alert.message.address == str(STAFF_CHAT)
    [stored] = CheckinRepository(core.db).answers(treated.treatment_id)
    assert (stored.answer, stored.milestone, stored.reminder_id) == (3, "checkin_24h", checkin_id)
    assert stored.escalation_id == first.id


async def test_1_after_a_check_in_reassures_and_alerts_nobody(
    core: Core,
    handler: InboundHandler,
    staff: dict[str, MemoryChannel],
    treated: Registration,
    clock: FakeClock,
) -> None:
    await send_checkin(core, clock, treated, "checkin_24h")
    clock.advance(HOUR)

    answer = await handler.handle(channel="telegram", text="1️⃣", patient_id=treated.patient_id)

    assert not answer.escalated and answer.topic == "checkin"
    assert "normal" in answer.text and "<b>Workouts and swimming are OK again</b>" in answer.text
    assert escalations(core) == [] and staff["telegram"].sent == []
    [conversation] = conversations(core)
    assert (conversation.topic, conversation.escalated) == ("checkin", False)
    [stored] = CheckinRepository(core.db).answers(treated.treatment_id)
    assert (stored.answer, stored.escalation_id) == (1, None)


async def test_2_is_recorded_for_staff_as_low_priority_without_an_alert(
    core: Core,
    handler: InboundHandler,
    staff: dict[str, MemoryChannel],
    treated: Registration,
    clock: FakeClock,
) -> None:
    await send_checkin(core, clock, treated, "checkin_72h")
    clock.advance(23 * HOUR)  # still within the day after the check-in

    answer = await handler.handle(channel="sms", text=" dos ", patient_id=treated.patient_id)

    assert not answer.escalated and answer.topic == "checkin"
    assert "+15551234567" in answer.text and "fever" in answer.text
    [escalation] = escalations(core)
    assert (escalation.category, escalation.alerted_at) == ("checkin_concern", None)
    assert staff["telegram"].sent == []  # nobody is paged
    [stored] = CheckinRepository(core.db).answers(treated.treatment_id)
    assert (stored.answer, stored.milestone, stored.escalation_id) == (
        2,
        "checkin_72h",
        escalation.id,
    )

    # A warning sign right after it still alerts the clinic.
    await handler.handle(channel="sms", text="now I have a fever", patient_id=treated.patient_id)
    assert len(staff["telegram"].sent) == 1


async def test_1_with_no_check_in_open_is_an_ordinary_question(
    core: Core,
    handler: InboundHandler,
    staff: dict[str, MemoryChannel],
    treated: Registration,
    clock: FakeClock,
) -> None:
    # Nothing asked yet: "1" is a question like any other (and not understood).
    before = await handler.handle(channel="sms", text="1", patient_id=treated.patient_id)
    assert before.topic == "unknown" and not before.escalated

    # Asked, but more than 24 hours ago: the answer window has closed.
    await send_checkin(core, clock, treated, "checkin_24h")
    clock.advance(24 * HOUR + timedelta(minutes=1))
    late = await handler.handle(channel="sms", text="3", patient_id=treated.patient_id)
    assert late.topic == "unknown" and not late.escalated

    assert escalations(core) == [] and staff["telegram"].sent == []
    assert CheckinRepository(core.db).answers(treated.treatment_id) == []


async def test_more_than_a_number_goes_through_the_usual_core_warning_signs_first(
    core: Core,
    handler: InboundHandler,
    staff: dict[str, MemoryChannel],
    treated: Registration,
    clock: FakeClock,
) -> None:
    await send_checkin(core, clock, treated, "checkin_24h")

    answer = await handler.handle(
        channel="sms", text="1 but now there is pus", patient_id=treated.patient_id
    )

    assert answer.topic == "red_flag" and len(staff["telegram"].sent) == 1
    assert CheckinRepository(core.db).answers(treated.treatment_id) == []


async def test_a_protocol_without_check_ins_asks_nothing_and_takes_no_answers(
    core: Core, handler: InboundHandler, treated: Registration, clock: FakeClock
) -> None:
    # The check-in was sent, but the clinic's protocol no longer has check-ins.
    await send_checkin(core, clock, treated, "checkin_24h")
    with core.db.session() as session:
        kept = session.scalars(
            select(Reminder.milestone).where(Reminder.treatment_id == treated.treatment_id)
        ).all()
    assert "checkin_24h" in kept
    dropped = core.protocol.model_copy(
        update={"milestones": [m for m in core.protocol.milestones if m.kind != "checkin"]}
    )
    core.protocols = ProtocolCatalog(core.db, dropped)
    other = build_inbound(core, {})

    answer = await other.handle(channel="sms", text="2", patient_id=treated.patient_id)

    assert answer.topic == "unknown"
    assert CheckinRepository(core.db).answers(treated.treatment_id) == []
