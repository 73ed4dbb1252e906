"""Hostile webhook bodies, sent over HTTP to the running service (issue 9, findings 2, 4, 7, 9).

Each request carries the right secret: the attacks are what a caller who has it (or a proxy
that forwards anything) could send. Nothing malformed is stored or handled, the service
answers 4xx rather than failing, and the next good update is handled normally.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from aftercare.wiring import build_core
from bot.telegram.webhook_input import MAX_BODY_BYTES
from messages.inbound_text import TELEGRAM_MAX_CHARS
from scheduler.clock import FakeClock
from storage.models import Conversation, Escalation, InboundMessage
from tests.bot.telegram.conftest import CHAT, enrol, telegram_settings
from tests.bot.telegram.service import Served, free_socket, serve
from tests.fakes.telegram_api import FakeTelegramApi

SECRET = "s3cret-Token_1"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}


@asynccontextmanager
async def webhook_service(
    url: str, fake_api: FakeTelegramApi, clock: FakeClock
) -> AsyncIterator[Served]:
    sock = free_socket()
    host, port = sock.getsockname()
    settings = telegram_settings(
        url, fake_api, public_base_url=f"http://{host}:{port}", telegram_webhook_secret=SECRET
    )
    core = build_core(settings, clock)
    core.patients.add_clinic("glow", "Glow", "+15551234567", "America/New_York")
    async with serve(core, sock) as running:
        yield running
    core.close()


@pytest.fixture
async def served(
    sqlite_url: str, fake_api: FakeTelegramApi, clock: FakeClock
) -> AsyncIterator[Served]:
    async with webhook_service(sqlite_url, fake_api, clock) as running:
        yield running


@pytest.fixture
async def served_on_both(
    database_url: str, fake_api: FakeTelegramApi, clock: FakeClock
) -> AsyncIterator[Served]:
    """SQLite and PostgreSQL: what PostgreSQL refuses to store differs."""
    async with webhook_service(database_url, fake_api, clock) as running:
        yield running


def a_message(update_id: int, text: str, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": 1_772_463_600,
        "chat": {"id": CHAT, "type": "private"},
        "from": {"id": CHAT, "is_bot": False, "first_name": "Ana"},
        "text": text,
        **extra,
    }
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": update_id, "message": message}


async def post(served: Served, body: bytes) -> int:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{served.url}/telegram/webhook", content=body, headers=HEADERS
        )
    return response.status_code


def webhook_ids(served: Served) -> int:
    with served.runtime.core.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(InboundMessage)) or 0)


async def still_works(served: Served, fake_api: FakeTelegramApi, update_id: int = 9_000) -> None:
    """A good update after the attack is handled as usual."""
    before = len(fake_api.sent(CHAT))
    assert await post(served, json.dumps(a_message(update_id, "/help")).encode()) == 200
    await fake_api.reply(CHAT, after=before)


async def test_json_nested_100k_deep_is_a_bad_request(
    served_on_both: Served, fake_api: FakeTelegramApi
) -> None:
    served = served_on_both
    deep = b"[" * 100_000 + b"]" * 100_000
    assert await post(served, deep) == 400
    # The same depth inside an otherwise good update, where PTB would keep it.
    inner = json.dumps(a_message(5, "hi", x="__DEEP__")).encode()
    assert await post(served, inner.replace(b'"__DEEP__"', deep)) == 400
    # Deep enough for PTB to choke on, shallow enough for json.loads to parse.
    middle = b"[" * 900 + b"]" * 900
    assert await post(served, inner.replace(b'"__DEEP__"', middle)) == 400
    assert webhook_ids(served) == 0
    await still_works(served, fake_api)


def with_update_id(value: object) -> dict[str, Any]:
    return {**a_message(0, "/help"), "update_id": value}


def without_update_id() -> dict[str, Any]:
    body = a_message(0, "/help")
    del body["update_id"]
    return body


BAD_IDS: dict[str, object] = {
    "text": with_update_id("abc"),
    "digits as text": with_update_id("42"),
    "float": with_update_id(4.5),
    "bool": with_update_id(True),
    "null": with_update_id(None),
    "negative": with_update_id(-1),
    "huge": with_update_id(10**30),
    "missing": without_update_id(),
    "empty list": [],
    "list": [with_update_id(1)],
    "string": "update",
    "number": 12,
    "null body": None,
}


async def test_an_update_without_a_proper_update_id_is_refused_and_not_stored(
    served: Served, fake_api: FakeTelegramApi
) -> None:
    for case, body in BAD_IDS.items():
        assert await post(served, json.dumps(body).encode()) == 400, case
    assert webhook_ids(served) == 0
    assert fake_api.sent(CHAT) == []
    await still_works(served, fake_api)
    assert len(fake_api.sent(CHAT)) == 1  # only the good update was answered


NOT_UPDATES = [
    b"",
    b"[1, 2",
    b"\xff\xfe{}",
    b'{"update_id": 7, "message": "abc"}',
    b'{"update_id": 7, "message": []}',
    b'{"update_id": 7, "message": {"chat": 5}}',
    b'{"update_id": 7, "callback_query": {"id": 1}}',
    b'{"update_id": 7, "message": {"message_id": 1, "date": "x", "chat": {"id": 1}}}',
    b'{"update_id": 7, "my_chat_member": {"chat": {"id": 1, "type": "private"}}}',
]


async def test_bodies_that_are_not_telegram_updates_are_bad_requests(
    served: Served, fake_api: FakeTelegramApi
) -> None:
    for raw in NOT_UPDATES:
        assert await post(served, raw) == 400, raw
    assert webhook_ids(served) == 0
    await still_works(served, fake_api)


async def test_a_body_over_1_mb_is_refused_from_its_declared_length_before_it_is_sent(
    served: Served, fake_api: FakeTelegramApi
) -> None:
    """Content-Length says 50 MB; only the first 64 KB are ever sent, and 413 comes back."""
    status = await raw_request(
        served,
        [f"Content-Length: {50_000_000}"],
        [b"x" * 65_536],
    )
    assert status == 413
    await still_works(served, fake_api)


async def test_a_chunked_body_is_cut_off_at_1_mb_while_it_streams(
    served: Served, fake_api: FakeTelegramApi
) -> None:
    """No Content-Length: the service reads just past the cap and answers 413 while the
    client has not finished (it never does); it cannot have waited for the whole body."""
    chunk = b"x" * 65_536
    chunks = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * (MAX_BODY_BYTES // len(chunk) + 2)
    status = await raw_request(served, ["Transfer-Encoding: chunked"], chunks)
    assert status == 413
    await still_works(served, fake_api)


async def test_a_body_without_the_secret_is_refused_before_it_is_read(
    served: Served, fake_api: FakeTelegramApi
) -> None:
    status = await raw_request(
        served, [f"Content-Length: {50_000_000}"], [b"x" * 65_536], secret="wrong"
    )
    assert status == 403


async def test_a_body_just_under_the_cap_is_read(served: Served, fake_api: FakeTelegramApi) -> None:
    update = a_message(31, "/help", padding="")
    size = len(json.dumps(update).encode())
    update["message"]["padding"] = "p" * (MAX_BODY_BYTES - size)
    body = json.dumps(update).encode()
    assert len(body) == MAX_BODY_BYTES
    assert await post(served, body) == 200
    await fake_api.reply(CHAT, after=0)
    assert await post(served, body + b" ") == 413


async def test_a_nul_byte_and_an_endless_text_are_cleaned_before_anything_else(
    served_on_both: Served, fake_api: FakeTelegramApi
) -> None:
    """On PostgreSQL a NUL cannot be stored: before the fix, the red flag was lost."""
    served = served_on_both
    core = served.runtime.core
    _, token = enrol(core, core.patients.clinic("glow"), timedelta(hours=1))
    assert await post(served, json.dumps(a_message(40, f"/start {token}")).encode()) == 200
    await fake_api.wait_for(lambda _: len(fake_api.sent(CHAT)) >= 3)  # greeting, plan, welcome

    words = "I have pus\x00 and fever\x07 " + "so worried " * 1_000
    before = len(fake_api.sent(CHAT))
    assert await post(served, json.dumps(a_message(41, words)).encode()) == 200
    reply = await fake_api.reply(CHAT, after=before)
    assert "clinic" in reply.text.lower()

    with core.db.session() as session:
        stored = session.scalars(select(Conversation.inbound_text)).one()
        escalations = session.scalars(select(Escalation)).all()
    assert stored is not None and stored.startswith("I have pus and fever so worried")
    assert "\x00" not in stored and "\x07" not in stored
    assert len(stored) <= TELEGRAM_MAX_CHARS
    assert len(escalations) == 1


async def raw_request(
    served: Served, headers: list[str], chunks: list[bytes], secret: str = SECRET
) -> int:
    """Send the head and `chunks` of a POST on a plain socket, then read the status without
    ever finishing the body. Within a few seconds, or the service was waiting for more."""
    address = urlsplit(served.url)
    assert address.hostname is not None and address.port is not None
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    head = [
        "POST /telegram/webhook HTTP/1.1",
        f"Host: {address.netloc}",
        "Content-Type: application/json",
        f"X-Telegram-Bot-Api-Secret-Token: {secret}",
        *headers,
    ]
    try:
        async with asyncio.timeout(10):
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
            try:
                for chunk in chunks:
                    writer.write(chunk)
                    await writer.drain()
            except ConnectionError:
                pass  # the service stopped reading and hung up: what we want
            status_line = await reader.readline()
    finally:
        writer.close()
    return int(status_line.split()[1])
