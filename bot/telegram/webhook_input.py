"""What a webhook body must be before PTB sees it: a JSON object shaped like a Telegram update.

The webhook is reachable by anyone who knows or guesses the URL, and even a correctly signed
body is only as trustworthy as the proxy in front of us. So the body is checked here, with
no I/O, and every way it can be wrong is one exception the route turns into a 400:
undecodable bytes, JSON nested deeper than any real update (json.loads would raise
RecursionError, and PTB copies objects recursively), a missing or non-integer update id.
Patient text is cleaned and capped here too, before anything else reads it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from messages.inbound_text import TELEGRAM_MAX_CHARS, clean_inbound

MAX_BODY_BYTES = 1_000_000
# A real update nests about ten levels (update, message, reply, keyboard rows, buttons...).
MAX_DEPTH = 32
MAX_UPDATE_ID = 2**63 - 1
_TEXT_FIELDS = ("text", "caption")
_MESSAGE_KINDS = ("message", "edited_message")
# Telegram's ids fit in 64 bits; a bigger number would only fail later, in the database.
_INT_RANGE = range(-(2**63), 2**63)


@dataclass(frozen=True)
class Shape:
    """The fields of an object that the bot reads, with their types. Other fields pass.

    PTB builds objects from whatever it is given (a member update without members becomes
    one with None where the bot expects a status), so this is checked first.
    """

    required: dict[str, Field]
    optional: dict[str, Field] = field(default_factory=dict)


@dataclass(frozen=True)
class ListOf:
    item: Field


Field = type | Shape | ListOf

_USER = Shape({"id": int, "is_bot": bool, "first_name": str}, {"language_code": str})
_CHAT = Shape({"id": int, "type": str})
_ENTITY = Shape({"type": str, "offset": int, "length": int})
_MESSAGE = Shape(
    {"message_id": int, "date": int, "chat": _CHAT},
    {"from": _USER, "text": str, "caption": str, "entities": ListOf(_ENTITY)},
)
_MEMBER = Shape({"status": str, "user": _USER})
UPDATE_KINDS: dict[str, Shape] = {
    "message": _MESSAGE,
    "edited_message": _MESSAGE,
    "callback_query": Shape(
        {"id": str, "from": _USER, "chat_instance": str}, {"data": str, "message": _MESSAGE}
    ),
    "my_chat_member": Shape(
        {
            "chat": _CHAT,
            "from": _USER,
            "date": int,
            "old_chat_member": _MEMBER,
            "new_chat_member": _MEMBER,
        }
    ),
}


class InvalidUpdate(ValueError):
    """The body is not a Telegram update; answer 400. The message says why, without content."""


def nesting_exceeds(value: object, limit: int) -> bool:
    """True if `value` has containers nested more than `limit` deep (iterative, no recursion)."""
    level: list[object] = [value]
    depth = 0
    while level:
        containers = [item for item in level if isinstance(item, (dict, list))]
        if not containers:
            return False
        depth += 1
        if depth > limit:
            return True
        level = [
            child
            for item in containers
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, (dict, list))
        ]
    return False


def shape_problem(value: object, expected: Field, where: str) -> str | None:
    """Where `value` differs from `expected` (a field name path, never a value), or None."""
    if isinstance(expected, Shape):
        if not isinstance(value, dict):
            return f"{where} is not an object"
        for fields, required in ((expected.required, True), (expected.optional, False)):
            for name, kind in fields.items():
                if name not in value:
                    if required:
                        return f"{where}.{name} is missing"
                    continue
                problem = shape_problem(value[name], kind, f"{where}.{name}")
                if problem is not None:
                    return problem
        return None
    if isinstance(expected, ListOf):
        if not isinstance(value, list):
            return f"{where} is not a list"
        for item in value:
            problem = shape_problem(item, expected.item, f"{where}[]")
            if problem is not None:
                return problem
        return None
    if expected is int:
        ok = isinstance(value, int) and not isinstance(value, bool) and value in _INT_RANGE
    else:
        ok = isinstance(value, expected)
    return None if ok else f"{where} is not {expected.__name__}"


def parse_update(body: bytes) -> dict[str, Any]:
    """The update as a dict with cleaned texts, or `InvalidUpdate`."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise InvalidUpdate("JSON nested too deeply") from None
    except ValueError:  # UnicodeDecodeError and JSONDecodeError included
        raise InvalidUpdate("not JSON") from None
    if not isinstance(data, dict):
        raise InvalidUpdate("not a JSON object")
    update_id = data.get("update_id")
    if isinstance(update_id, bool) or not isinstance(update_id, int):
        raise InvalidUpdate("update_id missing or not an integer")
    if not 0 <= update_id <= MAX_UPDATE_ID:
        raise InvalidUpdate("update_id out of range")
    if nesting_exceeds(data, MAX_DEPTH):
        raise InvalidUpdate("JSON nested too deeply")
    for kind, shape in UPDATE_KINDS.items():
        if kind in data:
            problem = shape_problem(data[kind], shape, kind)
            if problem is not None:
                raise InvalidUpdate(problem)
    for kind in _MESSAGE_KINDS:
        message = data.get(kind)
        if isinstance(message, dict):
            _clean_texts(message)
    return data


def _clean_texts(message: dict[str, Any]) -> None:
    for name in _TEXT_FIELDS:
        value = message.get(name)
        if isinstance(value, str):
            message[name] = clean_inbound(value, TELEGRAM_MAX_CHARS)
