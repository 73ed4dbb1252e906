"""The Telegram webhook, authenticated with the secret header, against generated bodies.

Well-formed updates (messages, commands, button presses, block/unblock) from many chats get
200 and are handled by the real bot without an error; anything else (bytes, other JSON,
wrong types, deep nesting, ids out of range) gets 400. Never 500, and PTB's error handler,
which would hide a crash behind a 200, logs nothing.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import strategies as st

from bot.telegram.adapter import SECRET_HEADER, TelegramAdapter
from scheduler.clock import FakeClock
from scheduler.planning import NewPatient
from storage.invites import InviteRepository
from tests.bot.telegram.conftest import telegram_settings
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fuzz.harness import error_records, fuzz, long_texts
from tests.fuzz.service import Served, served

SECRET = "fuzz-Secret_1"
CHATS = [424242, 515151, 616161, 2**40 + 7]  # a few chats, so conversations go somewhere
COMMANDS = ["/start", "/start c_glow", "/start c_nope", "/plan", "/treatment", "/stop"]
COMMANDS += ["/resume", "/language", "/delete", "/help", "/cancel", "/unknown", "/start@bot x"]
TYPED = ["today 2pm", "yesterday 15:30", "21/11 14:00", "ayer a las 3 de la tarde", "now"]
TYPED += ["9999999 days ago", "Europe/Madrid", "Madrid", "Ana", "can I wear makeup?"]
TYPED += ["I have pus and fever", "I can't breathe", "pus\x00", "sí", "es", "2 hours ago"]
BUTTONS = ["t:day:0", "t:day:3", "t:hour:14", "t:hour:99", "t:other", "r:zone:ok"]
BUTTONS += ["r:zone:change", "r:lang:es", "r:lang:xx", "r:name:skip", "r:confirm", "r:change"]
BUTTONS += ["r:cancel", "lang:en", "lang:es", "del:yes", "del:no", "stale"]
DATE = 1_772_463_600


@dataclass
class Update:
    kind: str
    chat: int
    chat_type: str
    text: str
    language: str | None
    member_status: str
    id_kind: str  # fresh | repeat | other
    odd_id: Any


def texts() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(COMMANDS + TYPED),
        st.text(max_size=200),
        st.builds(lambda c, t: f"{c} {t}", st.sampled_from(COMMANDS), st.text(max_size=40)),
        long_texts(4000, 4300),  # around Telegram's 4,096 characters
    )


JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)

UPDATES = st.builds(
    Update,
    kind=st.sampled_from(["message", "message", "message", "edited_message", "callback_query"])
    | st.just("my_chat_member"),
    chat=st.one_of(st.sampled_from(CHATS), st.integers(-(2**63), 2**63 - 1)),
    chat_type=st.sampled_from(["private", "private", "private", "group", "channel"]),
    text=texts(),
    language=st.one_of(st.none(), st.sampled_from(["en", "es", "fr", ""])),
    member_status=st.sampled_from(["member", "kicked", "left"]),
    id_kind=st.sampled_from(["fresh", "fresh", "fresh", "fresh", "repeat", "other"]),
    odd_id=st.one_of(
        st.text(max_size=5),
        st.integers(max_value=-1),
        st.integers(min_value=2**63),
        st.floats(),
        st.booleans(),
        st.none(),
    ),
)


@dataclass
class Body:
    raw: bytes
    well_formed: bool  # a real update: must be accepted with 200
    repeated_id: int | None = None


_ids: Iterator[int] = itertools.count(1)


def update_json(update: Update, update_id: object) -> dict[str, Any]:
    user: dict[str, Any] = {"id": update.chat, "is_bot": False, "first_name": "Ana"}
    if update.language is not None:
        user["language_code"] = update.language
    chat = {"id": update.chat, "type": update.chat_type}
    message: dict[str, Any] = {"message_id": 7, "date": DATE, "chat": chat, "from": user}
    message["text"] = update.text
    if update.text.startswith("/"):
        length = len(update.text.split()[0]) if update.text.split() else 1
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    body: dict[str, Any] = {"update_id": update_id}
    if update.kind in ("message", "edited_message"):
        body[update.kind] = message
    elif update.kind == "callback_query":
        long_text = len(update.text) >= 30
        data = BUTTONS[len(update.text) % len(BUTTONS)] if long_text else update.text
        body["callback_query"] = {
            "id": str(update.chat),
            "from": user,
            "chat_instance": "1",
            "data": data,
            "message": {**message, "text": "Choose"},
        }
    else:
        old = "kicked" if update.member_status == "member" else "member"
        bot = {"id": 1, "is_bot": True, "first_name": "Glow"}

        def member(status: str) -> dict[str, Any]:
            banned = {"until_date": 0} if status == "kicked" else {}
            return {"status": status, "user": bot, **banned}

        body["my_chat_member"] = {
            "chat": chat,
            "from": user,
            "date": DATE,
            "old_chat_member": member(old),
            "new_chat_member": member(update.member_status),
        }
    return body


@st.composite
def bodies(draw: st.DrawFn) -> Body:
    shape = draw(st.sampled_from(["update"] * 6 + ["mutated", "json", "bytes", "deep"]))
    if shape in ("update", "mutated"):
        update = draw(UPDATES)
        if update.kind == "callback_query" and draw(st.booleans()):
            update.text = draw(st.sampled_from(BUTTONS))
        if update.id_kind == "other":
            return Body(json.dumps(update_json(update, update.odd_id)).encode(), False)
        data = update_json(update, 0)  # the id is given when it is posted
        if shape == "mutated":  # one field somewhere replaced by any JSON value
            target = data[next(k for k in data if k != "update_id")]
            key = draw(st.sampled_from(sorted(target)))
            target[key] = draw(JSON_VALUES)
        return Body(
            json.dumps(data).encode(),
            # Not among the kinds the webhook is registered for: 400 is as good as 200 here.
            shape == "update" and update.kind != "edited_message",
            repeated_id=-1 if update.id_kind == "repeat" else None,
        )
    if shape == "json":
        return Body(json.dumps(draw(JSON_VALUES)).encode(), False)
    if shape == "bytes":
        return Body(draw(st.binary(max_size=300)), False)
    depth = draw(st.sampled_from([33, 1_000, 100_000]))
    nested = "[" * depth + "]" * depth
    wrapped = f'{{"update_id": 5, "x": {nested}}}'
    return Body(draw(st.sampled_from([nested, wrapped])).encode(), False)


@pytest.fixture
def telegram_service(sqlite_url: str, clock: FakeClock) -> Iterator[Served]:
    with asyncio.Runner() as runner:
        api = FakeTelegramApi()
        runner.run(api.start())
        settings = telegram_settings(
            sqlite_url,
            api,
            public_base_url="https://aftercare.example.org",
            telegram_webhook_secret=SECRET,
        )
        try:
            with served(runner, settings, clock) as service:
                clinic = service.add_clinic(staff_telegram_chat_id=-100123)
                registration = service.core.planner.register(
                    clinic.id,
                    NewPatient("P1", "America/New_York", first_name="Ana", channel="telegram"),
                    clock.now() - timedelta(hours=3),
                )
                InviteRepository(service.core.db).create(
                    registration.patient_id, clock.now(), timedelta(days=14)
                )
                yield service
        finally:
            runner.run(api.stop())


def test_authenticated_webhook_bodies_are_handled_or_refused_never_failed(
    telegram_service: Served, clock: FakeClock
) -> None:
    [adapter] = [a for a in telegram_service.runtime.adapters if isinstance(a, TelegramAdapter)]
    accepted: list[int] = []

    async def post(raw: bytes) -> int:
        response = await telegram_service.http.post(
            "/telegram/webhook",
            content=raw,
            headers={SECRET_HEADER: SECRET, "Content-Type": "application/json"},
        )
        async with asyncio.timeout(5):  # PTB handles it after the answer: wait for that
            await adapter.application.update_queue.join()
        return response.status_code

    with error_records() as errors:

        def check(body: Body) -> None:
            raw = body.raw
            if raw.startswith(b'{"update_id": 0,'):
                update_id = (
                    accepted[-1] if body.repeated_id is not None and accepted else next(_ids)
                )
                raw = raw.replace(b'"update_id": 0,', f'"update_id": {update_id},'.encode(), 1)
            else:
                update_id = None
            clock.advance(timedelta(seconds=5))

            status = telegram_service.run(post(raw))

            assert status != 500, "500 for an authenticated webhook body"
            assert status in (200, 400), status
            assert status == 200 or not body.well_formed, "a well-formed update was refused"
            assert not errors.take(), "the bot logged an error handling this update"
            if status == 200 and update_id is not None:
                accepted.append(update_id)

        fuzz("telegram_webhook", bodies(), check)
