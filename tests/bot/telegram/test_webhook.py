"""Webhook mode: Telegram POSTs updates to our own HTTP app, which checks the secret."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

from aftercare.wiring import Core, build_adapters, build_core
from bot.telegram.adapter import TelegramAdapter, webhook_secret
from scheduler.clock import FakeClock
from storage.models import Conversation, InboundMessage
from tests.bot.telegram.conftest import (
    CHAT,
    InboundDouble,
    enrol,
    telegram_adapter,
    telegram_settings,
)
from tests.bot.telegram.service import Served, free_socket, serve
from tests.fakes.telegram_api import FakeTelegramApi


@pytest.fixture
async def served(
    sqlite_url: str, fake_api: FakeTelegramApi, clock: FakeClock
) -> AsyncIterator[Served]:
    sock = free_socket()
    host, port = sock.getsockname()
    settings = telegram_settings(
        sqlite_url,
        fake_api,
        public_base_url=f"http://{host}:{port}/",
        telegram_webhook_secret="s3cret-Token_1",
    )
    core = build_core(settings, clock)
    core.patients.add_clinic("glow", "Glow", "+15551234567", "America/New_York")
    async with serve(core, sock) as running:
        yield running
    core.close()


def typed_update(update_id: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_772_463_600,
            "chat": {"id": CHAT, "type": "private"},
            "from": {"id": CHAT, "is_bot": False, "first_name": "Ana"},
            "text": text,
        },
    }


def start_update(update_id: int, text: str) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_772_463_600,
            "chat": {"id": CHAT, "type": "private"},
            "from": {"id": CHAT, "is_bot": False, "first_name": "Ana"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        },
    }


async def test_the_webhook_is_registered_with_a_secret_and_polling_is_off(
    served: Served, fake_api: FakeTelegramApi
) -> None:
    [registration] = fake_api.called("setWebhook")
    assert registration.params["url"] == f"{served.url}/telegram/webhook"
    assert registration.params["secret_token"] == "s3cret-Token_1"
    assert set(registration.params["allowed_updates"]) == {
        "message",
        "callback_query",
        "my_chat_member",
    }
    assert fake_api.called("getUpdates") == []


async def test_updates_posted_by_telegram_are_answered(
    served: Served, fake_api: FakeTelegramApi
) -> None:
    core = served.runtime.core
    _, token = enrol(core, core.patients.clinic("glow"), timedelta(hours=1))

    replies = await fake_api.conversation(
        CHAT, lambda: fake_api.user_says(CHAT, f"/start {token}"), replies=3
    )

    assert "Hi Ana" in replies[0].text


@pytest.mark.parametrize("secret", [None, "", "wrong", "s3cret-Token_"])
async def test_requests_without_the_right_secret_are_refused(
    served: Served, fake_api: FakeTelegramApi, secret: str | None
) -> None:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{served.url}/telegram/webhook",
            content=json.dumps(start_update(1, "/help")),
            headers=headers,
        )
    assert response.status_code == 403
    assert fake_api.sent() == []


async def test_a_redelivered_update_is_handled_once(
    served: Served, fake_api: FakeTelegramApi
) -> None:
    update = start_update(77, "/help")
    assert await fake_api.deliver(update) == 200
    await fake_api.reply(CHAT, after=0)
    assert await fake_api.deliver(update) == 200  # Telegram did not see our first answer
    assert await fake_api.deliver(start_update(78, "/help")) == 200
    await fake_api.reply(CHAT, after=1)
    assert len(fake_api.sent(CHAT)) == 2


async def test_garbage_is_a_bad_request(served: Served, fake_api: FakeTelegramApi) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_1"}
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{served.url}/telegram/webhook", content=b"[1, 2", headers=headers
        )
    assert response.status_code == 400


async def test_health_lists_the_telegram_lane(served: Served) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{served.url}/healthz")
    assert "telegram" in response.json()["channels"]


def test_without_public_url_the_bot_polls_and_serves_no_webhook(
    tg_core: Core, inbound: InboundDouble
) -> None:
    adapter = telegram_adapter(tg_core, inbound)
    assert adapter.mode == "polling" and adapter.routes() == []


def test_the_derived_secret_is_stable_and_fits_telegrams_rules() -> None:
    secret = webhook_secret("123:abc", None)
    assert secret == webhook_secret("123:abc", None) != webhook_secret("123:abd", None)
    assert secret.isalnum() and len(secret) <= 256
    assert webhook_secret("123:abc", "mine") == "mine"


def test_without_a_token_the_service_runs_without_telegram_and_says_so(
    sqlite_url: str, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.conftest import make_settings

    core = build_core(make_settings(sqlite_url), clock)
    with caplog.at_level(logging.INFO, logger="aftercare.wiring"):
        adapters = build_adapters(core, InboundDouble())
    core.close()
    assert not any(isinstance(a, TelegramAdapter) for a in adapters)
    notes = [r.getMessage() for r in caplog.records if "TELEGRAM_BOT_TOKEN" in r.getMessage()]
    assert notes == ["no TELEGRAM_BOT_TOKEN: running without the Telegram channel"]


def test_with_a_token_the_telegram_adapter_serves_the_telegram_lane(
    tg_core: Core, inbound: InboundDouble
) -> None:
    adapters = build_adapters(tg_core, inbound)
    [telegram] = [a for a in adapters if a.name == "telegram"]
    assert isinstance(telegram, TelegramAdapter)


# -- handled before it is acknowledged ------------------------------------------------------


class ProcessDied(BaseException):
    """Stands for the process dying while it handles an update: nothing catches it."""


def telegram_of(served: Served) -> TelegramAdapter:
    [adapter] = [a for a in served.runtime.adapters if isinstance(a, TelegramAdapter)]
    return adapter


def fail_next_update(adapter: TelegramAdapter, error: BaseException, group: int = -1) -> None:
    """A handler that raises `error` on the next update, once (PTB's public handler API);
    group -1 runs before the bot's own handlers, group 2 after them."""

    async def fail_once(_update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        adapter.application.remove_handler(handler, group=group)
        raise error

    handler = TypeHandler(Update, fail_once)
    adapter.application.add_handler(handler, group=group)


def recorded_ids(served: Served) -> list[str]:
    with served.runtime.core.db.session() as session:
        return list(session.scalars(select(InboundMessage.provider_message_id)))


def conversations(served: Served) -> int:
    with served.runtime.core.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Conversation)) or 0)


async def test_an_update_is_handled_before_the_webhook_answers(
    served: Served, fake_api: FakeTelegramApi
) -> None:
    assert await fake_api.deliver(start_update(90, "/help")) == 200

    # No waiting: by the time Telegram has its 200, the reply is sent and the id stored.
    [reply] = fake_api.sent(CHAT)
    assert "/plan" in reply.text
    assert recorded_ids(served) == ["90"]


async def test_free_text_is_recorded_with_its_update_id_and_answered_once(
    served: Served, fake_api: FakeTelegramApi
) -> None:
    question = typed_update(91, "can I wear makeup?")

    assert await fake_api.deliver(question) == 200
    assert await fake_api.deliver(question) == 200  # Telegram did not see our answer

    assert len(fake_api.sent(CHAT)) == 1
    assert conversations(served) == 1
    assert recorded_ids(served) == ["91"]


@pytest.mark.parametrize(
    "error", [RuntimeError("handler bug"), ProcessDied()], ids=["exception", "process died"]
)
async def test_an_update_whose_handling_failed_is_left_for_telegram_to_deliver_again(
    served: Served, fake_api: FakeTelegramApi, error: BaseException
) -> None:
    """Before, the id was stored and 200 sent before the update was handled: a crash in
    between lost the patient's message for good."""
    fail_next_update(telegram_of(served), error)

    assert await fake_api.deliver(start_update(92, "/help")) == 500
    assert recorded_ids(served) == []
    answered = len(fake_api.sent(CHAT))  # PTB goes on to the bot's handlers after an error

    assert await fake_api.deliver(start_update(92, "/help")) == 200  # Telegram retries
    assert len(fake_api.sent(CHAT)) == answered + 1
    assert recorded_ids(served) == ["92"]


async def test_free_text_that_failed_after_it_was_answered_is_not_answered_twice(
    served: Served, fake_api: FakeTelegramApi
) -> None:
    """The conversation core stores the update id with the conversation: a redelivery of a
    message it already answered is ignored, whatever failed afterwards."""
    question = typed_update(93, "can I wear makeup?")
    fail_next_update(telegram_of(served), RuntimeError("after the answer"), group=2)

    assert await fake_api.deliver(question) == 500
    assert await fake_api.deliver(question) == 200

    assert len(fake_api.sent(CHAT)) == 1
    assert conversations(served) == 1
    assert recorded_ids(served) == ["93"]
