"""Updates no Telegram client sends on its own, found by the fuzz suite (tests/fuzz): each is
acknowledged or ignored without an error, and the chat goes on as before.

The clinic is in New York; it is Monday 2 March 2026, 10:00 there (the FakeClock's T0).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from aftercare.wiring import Core
from bot.telegram.adapter import TelegramAdapter
from storage.patients import ClinicView
from tests.bot.telegram.chat_kit import Chat, patients
from tests.bot.telegram.conftest import CHAT, InboundDouble
from tests.fakes.telegram_api import Call, FakeTelegramApi

MISSING = object()


def failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What was logged at ERROR: how a crash in a handler shows (PTB's error handler)."""
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def press(data: object) -> dict[str, Any]:
    """A callback query as a forged client could send it: any data, or none at all."""
    callback: dict[str, Any] = {
        "id": f"forged-{time.monotonic_ns()}",
        "from": FakeTelegramApi.user(CHAT),
        "chat_instance": str(CHAT),
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": CHAT, "type": "private"},
            "text": "Choose",
        },
    }
    if data is not MISSING:
        callback["data"] = data
    return {"callback_query": callback}


async def acknowledged(api: FakeTelegramApi, body: dict[str, Any]) -> None:
    """Push a button press and wait until the bot answers it (the spinner stops)."""
    before = len(api.called("answerCallbackQuery"))
    await api.push(body)
    await api.wait_for(lambda _: len(api.called("answerCallbackQuery")) > before)


@pytest.mark.parametrize("data", ["", MISSING], ids=["empty", "absent"])
async def test_a_button_without_data_is_only_acknowledged(
    adapter: TelegramAdapter,
    fake_api: FakeTelegramApi,
    caplog: pytest.LogCaptureFixture,
    data: object,
) -> None:
    """PTB hands a press without data to every button handler whatever its pattern: this
    one reached the language button (IndexError) before."""
    await acknowledged(fake_api, press(data))

    [help_text] = await Chat(fake_api).says("/help")  # the next update is answered as usual
    assert "/plan" in help_text.text
    assert fake_api.sent(CHAT) == [help_text]  # the press itself said nothing
    assert failures(caplog) == []


async def test_a_button_without_data_in_the_middle_of_a_registration_changes_nothing(
    adapter: TelegramAdapter,
    fake_api: FakeTelegramApi,
    glow: ClinicView,
    caplog: pytest.LogCaptureFixture,
) -> None:
    chat = Chat(fake_api)
    await chat.opens_the_link_of("glow")

    await acknowledged(fake_api, press(""))

    [ask_hour] = await chat.taps("t:day:0")  # still waiting for the day
    assert "t:hour:9" in [d for _, d in ask_hour.buttons()]
    assert failures(caplog) == []


@pytest.mark.parametrize("forged", ["t:day:3", "t:day:9"])
async def test_a_day_button_the_bot_never_offered_is_only_acknowledged(
    adapter: TelegramAdapter,
    fake_api: FakeTelegramApi,
    glow: ClinicView,
    caplog: pytest.LogCaptureFixture,
    forged: str,
) -> None:
    """Only today, yesterday and the day before are offered (t:day:0-2); t:day:3 raised
    IndexError before."""
    chat = Chat(fake_api)
    await chat.opens_the_link_of("glow")
    sent = len(fake_api.sent(CHAT))

    await acknowledged(fake_api, press(forged))

    assert len(fake_api.sent(CHAT)) == sent
    [ask_hour] = await chat.taps("t:day:0")  # the real buttons still work
    assert "t:hour:9" in [d for _, d in ask_hour.buttons()]
    assert failures(caplog) == []


@pytest.mark.parametrize("forged", ["t:hour:99", "t:hour:24", "t:hour:7", "t:hour:21"])
async def test_an_hour_button_the_bot_never_offered_is_only_acknowledged(
    adapter: TelegramAdapter,
    fake_api: FakeTelegramApi,
    glow: ClinicView,
    caplog: pytest.LogCaptureFixture,
    forged: str,
) -> None:
    """The hour buttons are 08:00 to 20:00; t:hour:99 made no time of day (ValueError)."""
    chat = Chat(fake_api)
    await chat.opens_the_link_of("glow")
    await chat.taps("t:day:1")
    sent = len(fake_api.sent(CHAT))

    await acknowledged(fake_api, press(forged))

    assert len(fake_api.sent(CHAT)) == sent
    [ask_zone] = await chat.taps("t:hour:9")
    assert "Sun 1 Mar, 09:00" in ask_zone.text
    assert failures(caplog) == []


def edited(text: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": 5,
        "date": int(time.time()),
        "edit_date": int(time.time()),
        "chat": {"id": CHAT, "type": "private"},
        "from": FakeTelegramApi.user(CHAT),
        "text": text,
    }
    if text.startswith("/"):
        length = len(text.split()[0])
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return {"edited_message": message}


async def answered_next(api: FakeTelegramApi) -> list[Call]:
    """Send /language and wait for its question: updates are handled one at a time, so
    whatever came before has been handled by then. Returns every message sent to the chat."""
    await api.user_says(CHAT, "/language")
    await api.wait_for(lambda _: api.last_with_button(CHAT, "lang:en") is not None)
    return api.sent(CHAT)


@pytest.mark.parametrize("text", ["can I wear makeup?", "/help", "/start c_glow", "yesterday"])
async def test_an_edited_message_is_ignored(
    adapter: TelegramAdapter,
    fake_api: FakeTelegramApi,
    tg_core: Core,
    glow: ClinicView,
    inbound: InboundDouble,
    caplog: pytest.LogCaptureFixture,
    text: str,
) -> None:
    """The bot does not subscribe to edits; one that arrives anyway is not answered as if it
    were new (free text raised AssertionError before: an edit has no `message`)."""
    await fake_api.push(edited(text))

    [language_question] = await answered_next(fake_api)
    assert "lang:es" in [d for _, d in language_question.buttons()]
    assert inbound.calls == []
    assert patients(tg_core) == []
    assert failures(caplog) == []


async def test_an_edit_in_the_middle_of_a_registration_does_not_answer_the_question(
    adapter: TelegramAdapter,
    fake_api: FakeTelegramApi,
    glow: ClinicView,
    caplog: pytest.LogCaptureFixture,
) -> None:
    chat = Chat(fake_api)
    await chat.opens_the_link_of("glow")
    await fake_api.push(edited("yesterday 15:30"))

    [ask_hour] = await chat.taps("t:day:0")  # the day question is still the open one
    assert "t:hour:9" in [d for _, d in ask_hour.buttons()]
    assert failures(caplog) == []
