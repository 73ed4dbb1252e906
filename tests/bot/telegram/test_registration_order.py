"""A self-registered patient reads "All set!" before the welcome, whatever the engine does.

The whole runtime runs (Telegram adapter and dispatch engine, woken by the planner). The fake
Bot API holds the confirmation unprocessed while the engine has its chance to send: Telegram
shows messages in the order it processes them, and so does `FakeTelegramApi.calls`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from aftercare.wiring import Core, Runtime, build_runtime
from storage.patients import ClinicView
from tests.bot.telegram.chat_kit import Chat
from tests.bot.telegram.conftest import CHAT
from tests.fakes.telegram_api import FakeTelegramApi


@pytest.fixture
async def runtime(tg_core: Core) -> AsyncIterator[Runtime]:
    running = build_runtime(tg_core)
    await running.start()
    yield running
    await running.stop()


async def ready_to_confirm(chat: Chat) -> None:
    await chat.opens_the_link_of("glow")
    await chat.says("yesterday 15:30")
    await chat.taps("r:zone:ok")
    await chat.taps("r:lang:en")
    await chat.taps("r:name:skip")


async def test_the_confirmation_reaches_the_chat_before_the_welcome(
    runtime: Runtime, fake_api: FakeTelegramApi, glow: ClinicView
) -> None:
    chat = Chat(fake_api)
    await ready_to_confirm(chat)
    before = len(fake_api.sent(CHAT))
    confirmation = fake_api.hold("sendMessage", lambda p: str(p["text"]).startswith("All set!"))

    await fake_api.user_presses(CHAT, "r:confirm")
    await confirmation.arrived()  # the registration is stored, "All set!" is on its way
    await runtime.service.wake()  # the engine's chance: everything due now is sent
    confirmation.let_through()

    await fake_api.wait_for(lambda _: len(fake_api.sent(CHAT)) >= before + 2)
    done, welcome = fake_api.sent(CHAT)[before:]
    assert done.text.startswith("All set!")
    assert "after microneedling" in welcome.text  # at once, not at the next sweep


async def test_a_confirmation_that_could_not_be_sent_does_not_hold_the_welcome_back(
    runtime: Runtime, fake_api: FakeTelegramApi, glow: ClinicView
) -> None:
    chat = Chat(fake_api)
    await ready_to_confirm(chat)
    before = len(fake_api.sent(CHAT))
    fake_api.bad_request("Bad Request: message is too long")  # the "All set!"

    await fake_api.user_presses(CHAT, "r:confirm")

    # The clock stands still: only the release, not the end of the hold, can send it now.
    await fake_api.wait_for(lambda _: len(fake_api.sent(CHAT)) >= before + 1)
    [welcome] = fake_api.sent(CHAT)[before:]
    assert "after microneedling" in welcome.text
    [refused] = [c for c in fake_api.called("sendMessage") if c.status == 400]
    assert refused.text.startswith("All set!")
