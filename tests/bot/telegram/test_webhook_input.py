"""What a webhook body must be before PTB sees it (bot.telegram.webhook_input, no I/O)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bot.telegram.webhook_input import (
    MAX_DEPTH,
    InvalidUpdate,
    nesting_exceeds,
    parse_update,
)
from messages.inbound_text import TELEGRAM_MAX_CHARS
from tests.fakes.telegram_api import FakeTelegramApi

USER = {"id": 42, "is_bot": False, "first_name": "Ana", "language_code": "es"}
CHAT = {"id": 42, "type": "private"}


def message(**fields: Any) -> dict[str, Any]:
    return {"message_id": 1, "date": 1_772_463_600, "chat": CHAT, "from": USER, **fields}


def body(value: object) -> bytes:
    return json.dumps(value).encode()


def test_a_well_formed_update_passes_unchanged() -> None:
    update = {"update_id": 7, "message": message(text="can I wear makeup?")}
    assert parse_update(body(update)) == update


def test_what_the_fake_bot_api_sends_passes(fake_api: FakeTelegramApi) -> None:
    """The fake's updates are shaped like Telegram's, and so pass as they are."""
    me = fake_api._me()
    samples = [
        {"update_id": 1, "message": message(text="/start c_glow", entities=[
            {"type": "bot_command", "offset": 0, "length": 6}])},
        {"update_id": 2, "callback_query": {
            "id": "9", "from": USER, "chat_instance": "42", "data": "t:day:0",
            "message": {"message_id": 3, "date": 1, "chat": CHAT, "from": me, "text": "When?"}}},
        {"update_id": 3, "my_chat_member": {
            "chat": CHAT, "from": USER, "date": 1,
            "old_chat_member": {"status": "member", "user": me},
            "new_chat_member": {"status": "kicked", "user": me, "until_date": 0}}},
    ]  # fmt: skip
    for update in samples:
        assert parse_update(body(update)) == update


def test_patient_text_is_cleaned_and_capped() -> None:
    text = "I have pus\x00 and fever\x1b\n" + "x" * 10_000
    parsed = parse_update(body({"update_id": 7, "message": message(text=text, caption="a\x00b")}))
    cleaned = parsed["message"]["text"]
    assert cleaned.startswith("I have pus and fever\nxxx")
    assert len(cleaned) == TELEGRAM_MAX_CHARS
    assert parsed["message"]["caption"] == "ab"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff", "not JSON"),
        (b"{", "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"[]", "not a JSON object"),
        (b'"x"', "not a JSON object"),
        (b"{}", "update_id missing"),
        (b'{"update_id": "abc"}', "not an integer"),
        (b'{"update_id": true}', "not an integer"),
        (b'{"update_id": 1.0}', "not an integer"),
        (b'{"update_id": -5}', "out of range"),
        (b'{"update_id": 99999999999999999999999}', "out of range"),
        (b'{"update_id": 1, "message": "hi"}', "message is not an object"),
        (b'{"update_id": 1, "message": {"chat": {"id": 1, "type": "private"}}}', "message_id"),
        (body({"update_id": 1, "message": message(text=5)}), "message.text is not str"),
        (body({"update_id": 1, "message": message(chat={"id": 10**30, "type": "private"})}),
         "message.chat.id is not int"),
        (body({"update_id": 1, "message": message(entities=[{"type": "bold"}])}),
         "message.entities[].offset is missing"),
        (body({"update_id": 1, "callback_query": {"id": "1", "from": USER}}), "chat_instance"),
        (body({"update_id": 1, "my_chat_member": {"chat": CHAT}}), "my_chat_member.from"),
    ],
)  # fmt: skip
def test_what_is_not_a_telegram_update_is_refused_with_the_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidUpdate, match=re.escape(reason)) as refused:
        parse_update(raw)
    assert "hi" not in str(refused.value)  # the reason names fields, never their content


def test_depth_is_measured_without_recursion() -> None:
    deep: object = []
    for _ in range(200_000):  # far beyond Python's recursion limit
        deep = [deep]
    assert nesting_exceeds(deep, MAX_DEPTH)
    five_deep: object = {"a": [{"b": [1, 2, {"c": "d"}]}]}
    assert not nesting_exceeds(five_deep, 5)
    assert nesting_exceeds(five_deep, 4)
    assert not nesting_exceeds("flat", 0) and nesting_exceeds([], 0)


def test_a_deep_structure_json_can_parse_is_still_refused() -> None:
    update = {
        "update_id": 1,
        "message": message(text="hi", extra=[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]),
    }
    assert parse_update(body(update))["update_id"] == 1
    inner = b"[" * 900 + b"]" * 900
    raw = body({"update_id": 1, "message": message(extra="X")}).replace(b'"X"', inner)
    with pytest.raises(InvalidUpdate, match="nested too deeply"):
        parse_update(raw)
