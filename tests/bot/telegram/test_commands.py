"""Every command, and free text going to the conversation core (FAQ and escalation)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from aftercare.wiring import Core
from bot.channel import InboundSource
from bot.telegram.adapter import TelegramAdapter
from scheduler.clock import FakeClock
from storage.models import Conversation, Patient, Reminder, Treatment
from storage.patients import ClinicView
from tests.bot.telegram.chat_kit import Chat
from tests.bot.telegram.conftest import CHAT, InboundDouble, dispatcher_for, enrol
from tests.fakes.telegram_api import FakeTelegramApi


async def bound(fake_api: FakeTelegramApi, core: Core, clinic: ClinicView, **kw: object) -> int:
    """A patient treated 2 hours ago (08:00 New York) who opened their invite."""
    registration, token = enrol(core, clinic, timedelta(hours=2), **kw)  # type: ignore[arg-type]
    await Chat(fake_api).says(f"/start {token}", replies=3)
    return registration.patient_id


def patient_row(core: Core, patient_id: int) -> Patient:
    with core.db.session() as session:
        patient = session.get(Patient, patient_id)
        assert patient is not None
        return patient


async def test_plan_lists_past_and_upcoming_milestones_in_local_time(
    adapter: TelegramAdapter,
    fake_api: FakeTelegramApi,
    tg_core: Core,
    glow: ClinicView,
    clock: FakeClock,
) -> None:
    await bound(fake_api, tg_core, glow)
    clock.advance(timedelta(hours=30))  # Tuesday 16:00 in New York

    [plan] = await Chat(fake_api).says("/plan")

    lines = plan.text.splitlines()
    assert lines[0] == "<b>Your aftercare plan</b> (treatment Mon 2 Mar, 08:00, America/New_York):"
    assert lines[1] == "✅ Tue 3 Mar, 08:00: Makeup can go back on"
    assert lines[2] == "✅ Tue 3 Mar, 08:00: How is your skin? (check-in)"
    assert lines[3].startswith("🔔 Wed 4 Mar, 08:00:")
    assert lines[5] == "🔔 Thu 5 Mar, 08:00: How is your skin? (check-in)"
    assert lines[6].startswith("🔔 Mon 16 Mar, 08:00:")


async def test_commands_from_someone_not_registered(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi
) -> None:
    chat = Chat(fake_api)
    for command in ("/plan", "/stop", "/resume", "/delete", "/treatment"):
        [reply] = await chat.says(command)
        assert "not registered yet" in reply.text, command


async def test_stop_pauses_reminders_and_resume_brings_them_back(
    adapter: TelegramAdapter,
    fake_api: FakeTelegramApi,
    tg_core: Core,
    glow: ClinicView,
    clock: FakeClock,
) -> None:
    patient_id = await bound(fake_api, tg_core, glow)
    chat = Chat(fake_api)
    dispatcher = dispatcher_for(tg_core, adapter)

    [stopped] = await chat.says("/stop")
    assert "Reminders paused" in stopped.text
    assert patient_row(tg_core, patient_id).paused
    [plan] = await chat.says("/plan")
    assert "Reminders are paused" in plan.text

    clock.advance(timedelta(hours=23))  # makeup falls due while paused: not sent
    sent_before = len(fake_api.sent(CHAT))
    assert await dispatcher.dispatch_due() == 0
    assert len(fake_api.sent(CHAT)) == sent_before

    [resumed] = await chat.says("/resume")
    assert "back on" in resumed.text
    assert not patient_row(tg_core, patient_id).paused
    clock.advance(timedelta(hours=24))  # the sweat reminder (48 h) goes out again
    assert await dispatcher.dispatch_due() == 1
    assert "48 hours" in fake_api.sent(CHAT)[-1].text


async def test_language_switches_the_bot_and_the_reminders(
    adapter: TelegramAdapter,
    fake_api: FakeTelegramApi,
    tg_core: Core,
    glow: ClinicView,
    clock: FakeClock,
) -> None:
    patient_id = await bound(fake_api, tg_core, glow)
    chat = Chat(fake_api)

    [ask] = await chat.says("/language")
    assert [d for _, d in ask.buttons()] == ["lang:en", "lang:es"]
    [done] = await chat.taps("lang:es")
    assert done.text == "Hecho, te escribiré en español."
    assert patient_row(tg_core, patient_id).language == "es"

    [helped] = await chat.says("/help")
    assert "/plan – tus recordatorios" in helped.text
    clock.advance(timedelta(hours=23))
    await dispatcher_for(tg_core, adapter).dispatch_due()
    assert "Hola Ana" in fake_api.sent(CHAT)[-1].text


async def test_treatment_corrects_the_time_and_moves_the_reminders(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView
) -> None:
    patient_id = await bound(fake_api, tg_core, glow)
    chat = Chat(fake_api)

    intro, _ask_day = await chat.says("/treatment", replies=2)
    assert "currently <b>Mon 2 Mar, 08:00</b>" in intro.text
    [refused] = (await chat.says("today 11:30", replies=2))[:1]
    assert "still ahead" in refused.text
    done, plan = await chat.says("today 9:30", replies=2)

    assert "changed to <b>Mon 2 Mar, 09:30</b>" in done.text
    assert "🔔 Tue 3 Mar, 09:30: Makeup can go back on" in plan.text
    with tg_core.db.session() as session:
        treatment = session.scalars(
            select(Treatment).where(Treatment.patient_id == patient_id)
        ).one()
        assert treatment.performed_at == datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
        makeup = session.scalars(select(Reminder).where(Reminder.milestone == "makeup")).one()
        assert makeup.due_at == datetime(2026, 3, 3, 14, 30, tzinfo=UTC)


async def test_treatment_by_buttons(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView
) -> None:
    await bound(fake_api, tg_core, glow)
    chat = Chat(fake_api)
    await chat.says("/treatment", replies=2)
    await chat.taps("t:day:1")
    done, _plan = await chat.taps("t:hour:17", replies=2)
    assert "Sun 1 Mar, 17:00" in done.text


async def test_delete_asks_first_then_erases_and_confirms(
    adapter: TelegramAdapter,
    fake_api: FakeTelegramApi,
    tg_core: Core,
    glow: ClinicView,
    clock: FakeClock,
) -> None:
    patient_id = await bound(fake_api, tg_core, glow)
    chat = Chat(fake_api)
    await chat.says("a question before leaving")

    [ask] = await chat.says("/delete")
    assert "can't be undone" in ask.text
    [kept] = await chat.taps("del:no")
    assert "nothing was deleted" in kept.text
    assert patient_row(tg_core, patient_id).erased_at is None

    await chat.says("/delete")
    [gone] = await chat.taps("del:yes")
    assert "Your data has been erased" in gone.text

    patient = patient_row(tg_core, patient_id)
    assert patient.erased_at is not None
    assert (patient.first_name, patient.telegram_chat_id, patient.phone) == (None, None, None)
    with tg_core.db.session() as session:
        statuses = set(
            session.scalars(select(Reminder.status).where(Reminder.patient_id == patient_id))
        )
        assert "pending" not in statuses and "cancelled" in statuses
    clock.advance(timedelta(days=3))
    assert await dispatcher_for(tg_core, adapter).dispatch_due() == 0
    [after] = await chat.says("/plan")
    assert "not registered" in after.text


async def test_help_lists_commands_names_the_clinic_and_the_emergency_number(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView
) -> None:
    await bound(fake_api, tg_core, glow)
    [reply] = await Chat(fake_api).says("/help")
    for command in ("/plan", "/treatment", "/stop", "/resume", "/language", "/delete"):
        assert command in reply.text
    assert "Glow Skin Clinic, +15551234567" in reply.text
    assert "call 911" in reply.text
    [unknown] = await Chat(fake_api).says("/whatever")
    assert "/plan" in unknown.text


async def test_free_text_goes_to_the_conversation_core_with_the_patient(
    adapter: TelegramAdapter,
    fake_api: FakeTelegramApi,
    tg_core: Core,
    glow: ClinicView,
    inbound: InboundDouble,
) -> None:
    patient_id = await bound(fake_api, tg_core, glow, language="es")
    chat = Chat(fake_api)

    [faq] = await chat.says("can I wash my face?")
    [escalated] = await chat.says("there is pus and it feels hot")

    assert faq.text == "Gentle cleanser is fine."
    assert escalated.text == "Please contact your clinic now."
    assert inbound.calls[-1] == {
        "channel": "telegram",
        "text": "there is pus and it feels hot",
        "patient_id": patient_id,
        "language": "es",
    }


async def test_free_text_names_its_update_so_the_core_records_it_once(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, inbound: InboundDouble
) -> None:
    """The core stores the update id with the conversation, in one transaction: a
    redelivered update (a webhook retry, getUpdates after a crash) is answered once."""
    update_id = await fake_api.user_says(CHAT, "can I wash my face?")
    await fake_api.reply(CHAT, after=0)

    assert inbound.sources == [InboundSource("telegram", str(update_id))]


async def test_strangers_and_failures_still_get_a_safe_answer(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, inbound: InboundDouble
) -> None:
    chat = Chat(fake_api)
    await chat.says("hello?")
    assert inbound.calls[-1]["patient_id"] is None

    inbound.fail = True
    [reply] = await chat.says("is this normal?")
    assert "contact your clinic" in reply.text and "call 911" in reply.text

    [photo] = await fake_api.conversation(CHAT, lambda: fake_api.user_sends_photo(CHAT))
    assert "only read text" in photo.text


async def test_faq_and_escalation_through_the_real_conversation_core(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView
) -> None:
    import pytest

    inbound_module = pytest.importorskip("bot.inbound")
    from aftercare.wiring import build_inbound

    real = build_inbound(tg_core, {"telegram": adapter.channel})
    adapter.bot.free_text.inbound = real
    patient_id = await bound(fake_api, tg_core, glow)
    chat = Chat(fake_api)

    [faq] = await chat.says("When can I wear makeup again?")
    [alarm] = await chat.says("my face is swollen, there is pus and I have a fever")

    assert "24" in faq.text
    assert "clinic" in alarm.text.lower()
    with tg_core.db.session() as session:
        rows = session.scalars(
            select(Conversation).where(Conversation.patient_id == patient_id)
        ).all()
        assert any(row.escalated for row in rows)
    assert inbound_module is not None
