"""The conversation core behind the channels: answers, records, and alerts the clinic."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from aftercare.wiring import Core, build_inbound
from bot.channel import InboundHandler
from bot.memory import MemoryChannel
from scheduler.clock import FakeClock
from scheduler.planning import NewPatient
from scheduler.ports import Channel, SendResult
from storage.patients import ClinicView
from tests.bot.conversation_kit import conversations, escalations, set_staff_contacts

PHONE = "+15559876543"
CHAT_ID = -100123


@pytest.fixture
def channels(clock: FakeClock) -> dict[str, MemoryChannel]:
    return {
        "telegram": MemoryChannel("telegram", clock.now),
        "sms": MemoryChannel("sms", clock.now),
    }


@pytest.fixture
def handler(core: Core, channels: dict[str, MemoryChannel]) -> InboundHandler:
    as_channels: dict[str, Channel] = dict(channels)
    return build_inbound(core, as_channels)


@pytest.fixture
def patient_id(core: Core, clinic: ClinicView, clock: FakeClock) -> int:
    registration = core.planner.register(
        clinic.id,
        NewPatient(
            external_id="P-1",
            timezone="America/New_York",
            language="en",
            first_name="Ana",
            phone=PHONE,
        ),
        clock.now(),
    )
    return registration.patient_id


async def test_a_red_flag_replies_at_once_records_and_alerts_the_clinic_without_patient_data(
    core: Core,
    clinic: ClinicView,
    handler: InboundHandler,
    channels: dict[str, MemoryChannel],
    patient_id: int,
    clock: FakeClock,
) -> None:
    set_staff_contacts(core.db, clinic.id, staff_telegram_chat_id=CHAT_ID)
    text = "there's yellow pus on my cheek and it feels hot"

    answer = await handler.handle(channel="sms", text=text, patient_id=patient_id)

    # The reply: contact the clinic now, with its phone.
    assert answer.escalated
    assert answer.topic == "red_flag"
    assert "Glow Skin Clinic on +15551234567" in answer.text
    # The stored escalation, tied to the stored conversation.
    [conversation] = conversations(core.db)
    assert (conversation.patient_id, conversation.clinic_id) == (patient_id, clinic.id)
    assert conversation.inbound_text == text
    assert conversation.reply_text == answer.text
    assert conversation.escalated
    [escalation] = escalations(core.db)
    assert escalation.category == "red_flag"
    assert (escalation.patient_id, escalation.clinic_id) == (patient_id, clinic.id)
    assert escalation.conversation_id == conversation.id
    assert escalation.alerted_at == clock.now()
    # The clinic alert: ids and a pointer, nothing the patient wrote, no name, no phone.
    [delivery] = channels["telegram"].sent
    alert = delivery.message
    assert alert.address == str(CHAT_ID)
    assert alert.text == (
        f"Escalation {escalation.id} (red flag) for patient {patient_id} of clinic glow: "
        "please call them back as soon as you can."
    )
    for private in ("pus", "cheek", "hot", "Ana", PHONE, "5559876543"):
        assert private not in alert.text
    assert channels["sms"].sent == []


async def test_repeated_messages_do_not_flood_the_clinic(
    core: Core,
    clinic: ClinicView,
    handler: InboundHandler,
    channels: dict[str, MemoryChannel],
    patient_id: int,
    clock: FakeClock,
) -> None:
    set_staff_contacts(core.db, clinic.id, staff_sms_number="+15550001111")
    for _ in range(3):
        await handler.handle(channel="telegram", text="I have a fever", patient_id=patient_id)
        clock.advance(timedelta(minutes=10))
    assert len(escalations(core.db)) == 3  # every one is on record
    assert len(channels["sms"].sent) == 1  # the clinic heard once

    # An emergency is a different matter: it alerts even within the hour.
    await handler.handle(channel="telegram", text="I can't breathe", patient_id=patient_id)
    assert len(channels["sms"].sent) == 2
    assert "EMERGENCY" in channels["sms"].sent[-1].message.text

    clock.advance(timedelta(hours=1))
    await handler.handle(channel="telegram", text="still a fever", patient_id=patient_id)
    assert len(channels["sms"].sent) == 3


async def test_a_failed_alert_is_tried_again_on_the_next_message(
    core: Core,
    clinic: ClinicView,
    handler: InboundHandler,
    channels: dict[str, MemoryChannel],
    patient_id: int,
) -> None:
    set_staff_contacts(core.db, clinic.id, staff_telegram_chat_id=CHAT_ID)
    channels["telegram"].script(SendResult.transient("timeout"))
    answer = await handler.handle(channel="sms", text="blisters!", patient_id=patient_id)
    assert answer.escalated  # the patient is answered whatever happens to the alert
    assert escalations(core.db)[0].alerted_at is None
    await handler.handle(channel="sms", text="blisters!", patient_id=patient_id)
    assert len(channels["telegram"].sent) == 1
    assert escalations(core.db)[1].alerted_at is not None


async def test_a_clinic_without_staff_channel_gets_a_log_line_with_ids_only(
    core: Core,
    clinic: ClinicView,
    handler: InboundHandler,
    channels: dict[str, MemoryChannel],
    patient_id: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    await handler.handle(channel="sms", text="my face is covered in hives", patient_id=patient_id)
    [escalation] = escalations(core.db)
    assert f"Escalation {escalation.id} (red flag) for patient {patient_id}" in caplog.text
    assert "hives" not in caplog.text
    assert PHONE not in caplog.text
    assert "Ana" not in caplog.text
    assert channels["telegram"].attempts == channels["sms"].attempts == []
    assert escalation.alerted_at is not None


async def test_a_question_is_answered_on_the_patients_timeline_and_recorded(
    core: Core, handler: InboundHandler, patient_id: int, clock: FakeClock
) -> None:
    clock.advance(timedelta(hours=2))
    answer = await handler.handle(channel="sms", text="can I go to the gym?", patient_id=patient_id)
    assert answer.topic == "exercise"
    assert "from Wed 4 Mar at 10:00 am" in answer.text
    assert not answer.escalated
    [conversation] = conversations(core.db)
    assert (conversation.topic, conversation.language, conversation.escalated) == (
        "exercise",
        "en",
        False,
    )
    assert escalations(core.db) == []


async def test_an_unknown_sender_gets_general_answers_and_no_clinic_is_alerted(
    core: Core, handler: InboundHandler, channels: dict[str, MemoryChannel]
) -> None:
    answer = await handler.handle(
        channel="telegram", text="¿puedo maquillarme?", patient_id=None, language="en"
    )
    assert answer.language == "es"
    assert answer.topic == "makeup"
    urgent = await handler.handle(channel="telegram", text="tengo fiebre", patient_id=None)
    assert urgent.escalated
    [escalation] = escalations(core.db)
    assert (escalation.patient_id, escalation.clinic_id, escalation.alerted_at) == (
        None,
        None,
        None,
    )
    assert channels["telegram"].sent == channels["sms"].sent == []
    assert [c.patient_id for c in conversations(core.db)] == [None, None]


async def test_a_patient_id_that_does_not_exist_is_treated_as_unknown(
    core: Core, handler: InboundHandler
) -> None:
    answer = await handler.handle(channel="sms", text="makeup?", patient_id=999_999)
    assert answer.text.startswith("Makeup can go back on 24 hours")
    assert conversations(core.db)[0].patient_id is None
