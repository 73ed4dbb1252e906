"""Telegram shows a patient the plan of their own treatment's protocol: the clinic's version
it was planned with, not the built-in one."""

from __future__ import annotations

from datetime import timedelta

from aftercare.wiring import Core
from bot.telegram.adapter import TelegramAdapter
from scheduler.clock import FakeClock
from storage.patients import ClinicView
from tests.bot.telegram.chat_kit import Chat
from tests.bot.telegram.test_commands import bound
from tests.fakes.telegram_api import FakeTelegramApi
from tests.scheduler.protocol_kit import clinic_toml, upload


async def test_plan_follows_the_clinics_own_protocol(
    adapter: TelegramAdapter,
    fake_api: FakeTelegramApi,
    tg_core: Core,
    glow: ClinicView,
    clock: FakeClock,
) -> None:
    upload(tg_core.db, glow.id, clock.now(), clinic_toml(sun_after="10d"))
    await bound(fake_api, tg_core, glow)
    clock.advance(timedelta(hours=30))

    [plan] = await Chat(fake_api).says("/plan")

    last = plan.text.splitlines()[-1]
    assert last.startswith("🔔 Thu 12 Mar, 08:00:"), plan.text  # 10 days, not the built-in 14
