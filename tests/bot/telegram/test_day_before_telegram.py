"""The day-before reminder on Telegram: the real dispatcher and PTB against the fake Bot
API, in the patient's language, naming the appointment as of the moment it is sent."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aftercare.wiring import Core
from bot.telegram.adapter import TelegramAdapter
from messages.protocol import DAY_BEFORE
from scheduler.clock import FakeClock
from scheduler.planning import NewPatient
from storage.day_before import save_day_before
from storage.patients import ClinicView
from tests.bot.telegram.conftest import CHAT, dispatcher_for
from tests.fakes.telegram_api import FakeTelegramApi
from tests.scheduler.engine_kit import reminders

NEW_YORK = ZoneInfo("America/New_York")


async def test_a_spanish_patient_gets_it_in_spanish_as_html(
    adapter: TelegramAdapter,
    fake_api: FakeTelegramApi,
    tg_core: Core,
    glow: ClinicView,
    clock: FakeClock,
) -> None:
    save_day_before(tg_core.db, glow.slug, True)
    appointment = datetime(2026, 3, 5, 16, 0, tzinfo=NEW_YORK)
    registration = tg_core.planner.register(
        glow.id,
        NewPatient(
            "P1", "America/New_York", "es", "Lucía", telegram_chat_id=CHAT, channel="telegram"
        ),
        appointment,
    )
    dispatcher = dispatcher_for(tg_core, adapter)
    clock.advance(appointment - timedelta(days=1) - clock.now())
    assert await dispatcher.dispatch_due() == 1

    [sent] = fake_api.sent(CHAT)
    assert sent.text == (
        "📅 Hola Lucía, te recuerda Glow Skin Clinic: tu cita es <b>mañana a las 16:00</b>. "
        "¡Hasta pronto! Para cambiarla, llama al +15551234567."
    )
    assert sent.params["parse_mode"] == "HTML"
    assert reminders(tg_core, registration.treatment_id)[DAY_BEFORE].status == "sent"


async def test_sent_after_midnight_it_says_today(
    adapter: TelegramAdapter,
    fake_api: FakeTelegramApi,
    tg_core: Core,
    glow: ClinicView,
    clock: FakeClock,
) -> None:
    # No quiet hours here: due at 20:00 the day before, the engine was down until 00:30.
    save_day_before(tg_core.db, glow.slug, True)
    appointment = datetime(2026, 3, 5, 20, 0, tzinfo=NEW_YORK)
    tg_core.planner.register(
        glow.id,
        NewPatient("P1", "America/New_York", "en", "Ana", telegram_chat_id=CHAT),
        appointment,
    )
    dispatcher = dispatcher_for(tg_core, adapter)
    clock.advance(datetime(2026, 3, 5, 0, 30, tzinfo=NEW_YORK) - clock.now())
    assert await dispatcher.dispatch_due() == 1
    assert "your appointment is <b>today at 8:00 pm</b>" in fake_api.sent(CHAT)[0].text


async def test_once_its_window_has_closed_it_is_not_sent_at_all(
    adapter: TelegramAdapter,
    fake_api: FakeTelegramApi,
    tg_core: Core,
    glow: ClinicView,
    clock: FakeClock,
) -> None:
    save_day_before(tg_core.db, glow.slug, True)
    appointment = datetime(2026, 3, 5, 11, 0, tzinfo=NEW_YORK)
    registration = tg_core.planner.register(
        glow.id,
        NewPatient("P1", "America/New_York", "en", "Ana", telegram_chat_id=CHAT),
        appointment,
    )
    dispatcher = dispatcher_for(tg_core, adapter)
    clock.advance(appointment - timedelta(hours=2) - clock.now())  # 09:00 on the day
    assert await dispatcher.dispatch_due() == 0
    assert fake_api.sent(CHAT) == []
    assert reminders(tg_core, registration.treatment_id)[DAY_BEFORE].status == "expired"
