"""What a staff reply may be: any text for Telegram (up to a limit), plain GSM-7 within two
segments for SMS, never changed behind the writer's back."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

import messages
from messages import gsm7
from messages.protocol import Protocol
from messages.staff_replies import MAX_CHARS, SMS_MAX_UNITS, normalise, problem, rendered
from storage.values import STAFF_REPLY

BUILTIN = Path(messages.__file__).parent / "protocols" / "microneedling.toml"


def test_a_reply_typed_in_a_browser_keeps_its_lines_without_carriage_returns() -> None:
    assert normalise("  Hi Ana,\r\n\r\nplease call us.\tThanks\r\n ") == (
        "Hi Ana,\n\nplease call us. Thanks"
    )
    assert normalise("one\rtwo") == "one\ntwo"


def test_an_sms_reply_must_be_plain_gsm7_within_two_segments() -> None:
    fits = "a" * SMS_MAX_UNITS
    assert SMS_MAX_UNITS == 306
    assert problem(fits, "sms") is None
    assert gsm7.cost(fits).segments == 2
    too_long = problem(fits + "a", "sms")
    assert too_long is not None and too_long.kind == "too_many_segments"
    assert too_long.values == {"segments": 3, "max": 2, "units": 307, "limit": 306}
    # Extension characters take two septets each.
    assert problem("[" * 154, "sms") is not None
    curly = problem("That’s fine 🙂", "sms")
    assert curly is not None and curly.kind == "not_gsm7"
    assert curly.values == {"chars": "’ 🙂"}
    assert curly.sentence == "an SMS cannot carry ’ 🙂"


def test_telegram_takes_any_characters_up_to_the_limit() -> None:
    assert problem("That’s fine 🙂 " * 10, "telegram") is None
    too_long = problem("a" * (MAX_CHARS + 1), "telegram")
    assert too_long is not None and too_long.kind == "too_long"
    empty = problem("", "telegram")
    assert empty is not None and empty.kind == "empty"


def test_telegram_gets_the_text_escaped_for_html_and_sms_gets_it_as_written() -> None:
    assert rendered("a < b & <i>c</i>", "telegram") == "a &lt; b &amp; &lt;i&gt;c&lt;/i&gt;"
    assert rendered("a < b & c", "sms") == "a < b & c"


def test_a_protocol_may_not_name_a_milestone_staff_reply() -> None:
    data = tomllib.loads(BUILTIN.read_text("utf-8"))
    data["milestones"][1]["key"] = STAFF_REPLY
    with pytest.raises(ValidationError, match="reserved for staff replies"):
        Protocol.model_validate(data)
