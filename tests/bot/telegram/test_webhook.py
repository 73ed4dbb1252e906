"""Webhook mode: Telegram POSTs updates to our own HTTP app, which checks the secret."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from aftercare.wiring import Core, build_adapters, build_core
from bot.telegram.adapter import TelegramAdapter, webhook_secret
from scheduler.clock import FakeClock
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
