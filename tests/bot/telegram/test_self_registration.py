"""Self-registration from a clinic's public link: `/start c_<slug>`, answered in a minute.

The clinic is in New York; it is Monday 2 March 2026, 10:00 there (the FakeClock's T0).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from aftercare.wiring import Core
from bot.telegram.adapter import TelegramAdapter
from storage.models import Reminder, Treatment
from storage.patients import ClinicView
from tests.bot.telegram.chat_kit import Chat, all_handled, patients
from tests.bot.telegram.conftest import CHAT, dispatcher_for
from tests.fakes.telegram_api import FakeTelegramApi


async def test_the_whole_conversation_with_buttons_a_correction_and_typed_times(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView
) -> None:
    chat = Chat(fake_api)

    intro, ask_day = await chat.opens_the_link_of("glow")
    assert "Glow Skin Clinic" in intro.text and "/cancel" in intro.text
    assert [d for _, d in ask_day.buttons()] == ["t:day:0", "t:day:1", "t:day:2"]

    [ask_hour] = await chat.taps("t:day:0")
    # Only hours already past today are offered (it is 10:00), plus "other time".
    assert [d for _, d in ask_hour.buttons()] == ["t:hour:8", "t:hour:9", "t:hour:10", "t:other"]
    assert fake_api.called("editMessageText")[-1].text.endswith("» <b>Today</b>")

    [ask_zone] = await chat.taps("t:hour:9")
    assert "Mon 2 Mar, 09:00" in ask_zone.text and "America/New_York" in ask_zone.text

    [ask_language] = await chat.taps("r:zone:ok")
    assert [label for label, _ in ask_language.buttons()] == ["English", "Español"]

    [ask_name] = await chat.taps("r:lang:es")
    assert "¿Cómo quieres que te llame?" in ask_name.text

    [confirm] = await chat.says("Lucía")
    assert "Tratamiento: <b>lun 2 mar, 09:00</b>" in confirm.text
    assert "mar 3 mar, 09:00" in confirm.text  # makeup, 24 h later
    assert patients(tg_core) == []  # nothing stored before the patient confirms

    # The patient notices the time is wrong and corrects it by typing.
    [ask_day_again] = await chat.taps("r:change")
    assert "t:day:0" in [d for _, d in ask_day_again.buttons()]
    [confirm] = await chat.says("yesterday 15:30")
    assert "Tratamiento: <b>dom 1 mar, 15:30</b>" in confirm.text  # straight back to the plan

    [done] = await chat.taps("r:confirm")
    assert "¡Listo, Lucía!" in done.text
    await all_handled(fake_api)  # the welcome waits for "All set!" (test_registration_order)

    [patient] = patients(tg_core)
    assert (patient.first_name, patient.language, patient.timezone) == (
        "Lucía",
        "es",
        "America/New_York",
    )
    assert patient.telegram_chat_id == CHAT and patient.channel == "telegram"
    with tg_core.db.session() as session:
        treatment = session.scalars(select(Treatment)).one()
        assert treatment.performed_at == datetime(2026, 3, 1, 20, 30, tzinfo=UTC)
        welcome = session.scalars(select(Reminder).where(Reminder.milestone == "welcome")).one()
        assert welcome.due_at == tg_core.clock.now()  # they are chatting: no quiet hours

    # The engine sends the welcome through the Telegram channel, in Spanish.
    assert await dispatcher_for(tg_core, adapter).dispatch_due() == 1
    welcome_message = fake_api.sent(CHAT)[-1]
    assert "Hola Lucía" in welcome_message.text


async def test_typed_day_then_hour_and_a_time_zone_change(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView
) -> None:
    chat = Chat(fake_api)
    await chat.opens_the_link_of("glow")

    [ask_hour] = await chat.says("ayer")
    assert "t:hour:20" in [d for _, d in ask_hour.buttons()]  # yesterday: every hour is past
    [ask_zone] = await chat.says("15:30")
    assert "Sun 1 Mar, 15:30" in ask_zone.text

    [ask_typed_zone] = await chat.taps("r:zone:change")
    assert "time zone" in ask_typed_zone.text
    [unknown] = await chat.says("Atlantis")
    assert "I don't know that time zone" in unknown.text
    await chat.says("madrid")
    await chat.taps("r:lang:en")
    [confirm] = await chat.taps("r:name:skip")
    assert "(Europe/Madrid)" in confirm.text and "Sun 1 Mar, 15:30" in confirm.text
    [done] = await chat.taps("r:confirm")
    assert done.text.startswith("All set!")

    [patient] = patients(tg_core)
    assert patient.timezone == "Europe/Madrid" and patient.first_name is None
    with tg_core.db.session() as session:
        treatment = session.scalars(select(Treatment)).one()
        assert treatment.performed_at == datetime(2026, 3, 1, 14, 30, tzinfo=UTC)


async def test_future_and_too_old_times_are_refused_clearly(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView
) -> None:
    chat = Chat(fake_api)
    await chat.opens_the_link_of("glow")

    refusal, ask_again = await chat.says("tomorrow 10am", replies=2)
    assert "still ahead of us" in refusal.text
    assert "When was your treatment?" in ask_again.text

    refusal, _ = await chat.says("today 2pm", replies=2)  # 14:00, it is only 10:00
    assert "still ahead of us" in refusal.text

    refusal, _ = await chat.says("2/10 14:00", replies=2)  # US clinic: February 10
    assert "more than 14 days ago" in refusal.text

    [not_understood] = await chat.says("sometime last week")
    assert "didn't get that time" in not_understood.text

    # 21/11 cannot be month/day, so it is read day/month: 21 November, months ago.
    refusal, _ = await chat.says("21/11 14:00", replies=2)
    assert "more than 14 days ago" in refusal.text

    [ask_zone] = await chat.says("2/25 14:00")  # 25 February: 5 days ago, accepted
    assert "Wed 25 Feb, 14:00" in ask_zone.text
    assert patients(tg_core) == []


async def test_cancel_leaves_at_any_step_and_stores_nothing(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView
) -> None:
    chat = Chat(fake_api)
    await chat.opens_the_link_of("glow")
    await chat.taps("t:day:1")
    await chat.taps("t:hour:12")
    await chat.taps("r:zone:ok")

    [bye] = await chat.says("/cancel")
    assert "Nothing was saved" in bye.text

    # The conversation is over: text now goes to the conversation core, not the wizard.
    [answer] = await chat.says("Madrid")
    assert answer.text == "Gentle cleanser is fine."
    [nothing] = await chat.says("/cancel")
    assert "nothing to cancel" in nothing.text
    assert patients(tg_core) == []


async def test_cancel_button_on_the_plan(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView
) -> None:
    chat = Chat(fake_api)
    await chat.opens_the_link_of("glow")
    await chat.says("today 9:00")
    await chat.taps("r:zone:ok")
    await chat.taps("r:lang:en")
    await chat.says("Sam")
    [bye] = await chat.taps("r:cancel")
    assert "Nothing was saved" in bye.text
    assert patients(tg_core) == []


async def test_an_unknown_clinic_link(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, glow: ClinicView
) -> None:
    [reply] = await Chat(fake_api).says("/start c_nowhere")
    assert "couldn't find that clinic" in reply.text


async def test_a_returning_patient_registers_a_new_session(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView
) -> None:
    chat = Chat(fake_api)
    for when in ("3 days ago 10:00", "today 9:00"):
        await chat.opens_the_link_of("glow")
        await chat.says(when)
        await chat.taps("r:zone:ok")
        await chat.taps("r:lang:en")
        await chat.taps("r:name:skip")
        await chat.taps("r:confirm")

    assert len(patients(tg_core)) == 1  # the same person, not a second record
    with tg_core.db.session() as session:
        first, second = session.scalars(select(Treatment).order_by(Treatment.id)).all()
        # Both sessions happened: the first is over (what it had left never goes), not
        # cancelled, and the second one's plan is the current one.
        assert first.cancelled_at is None and second.cancelled_at is None
        pending = session.scalars(
            select(Reminder.treatment_id).where(Reminder.status == "pending")
        ).all()
        assert pending and set(pending) == {second.id}
