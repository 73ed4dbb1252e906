"""The pure decisions for a number's first text and for the invite SMS: the opt-out line
goes on the first SMS only (never on Telegram, never on a staff reply), and an invite goes
by SMS only, to a patient not yet on Telegram, with a link."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from messages.first_sms import OPT_OUT_LINES
from scheduler.decisions import Ready, decide, needs_invite_link
from storage.values import STAFF_REPLY, ClaimedReminder, Outcome
from storage.values import ReminderStatus as S
from tests.scheduler.test_decisions import BOTH, CHAT_ID, LATER, PROTOCOL, QUIET, WELCOME

LINK = "https://t.me/GlowClinicBot?start=AbCdEf0123456789_-xyzABC"
INVITE = replace(WELCOME, id=8, milestone="invite", expires_at=WELCOME.due_at + timedelta(days=3))


def decided(reminder: ClaimedReminder, **kw: object) -> Ready | Outcome:
    return decide(reminder, LATER, PROTOCOL, None, BOTH, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_first_sms_ends_with_the_opt_out_line_in_the_patients_language(language: str) -> None:
    reminder = replace(WELCOME, language=language)
    first = decided(reminder, first_sms=True)
    later = decided(reminder)
    assert isinstance(first, Ready) and isinstance(later, Ready)
    assert first.first_sms and not later.first_sms
    assert first.message.text == f"{later.message.text}\n{OPT_OUT_LINES[language]}"


def test_telegram_and_staff_replies_never_carry_the_line() -> None:
    on_telegram = decided(
        replace(WELCOME, channel="telegram", telegram_chat_id=CHAT_ID), first_sms=True
    )
    assert isinstance(on_telegram, Ready) and not on_telegram.first_sms
    assert "STOP" not in on_telegram.message.text
    reply = replace(WELCOME, milestone=STAFF_REPLY, body="Please call us.")
    answered = decided(reply, first_sms=True)
    assert isinstance(answered, Ready) and not answered.first_sms
    assert "STOP" not in answered.message.text


def test_a_reminder_moved_from_telegram_to_sms_gets_the_line_when_it_is_first() -> None:
    blocked = replace(WELCOME, channel="sms", telegram_chat_id=CHAT_ID, telegram_unreachable=True)
    decision = decided(blocked, first_sms=True)
    assert isinstance(decision, Ready) and decision.message.text.endswith(OPT_OUT_LINES["en"])


def test_an_invite_sms_carries_the_greeting_the_link_and_on_a_first_text_the_line() -> None:
    decision = decided(INVITE, first_sms=True, invite_link=LINK)
    assert isinstance(decision, Ready)
    assert decision.message.channel == "sms" and decision.message.address == WELCOME.phone
    assert decision.message.text == (
        "Glow Skin Clinic: Hi Ana! Your aftercare messages come on Telegram. "
        f"Tap to start: {LINK}\nReply STOP to opt out, HELP for help."
    )


@pytest.mark.parametrize(
    ("change", "status", "why"),
    [
        ({"telegram_chat_id": CHAT_ID}, S.SKIPPED, "already on Telegram"),
        ({"sms_opted_out": True}, S.CANCELLED, "opted out"),
        ({"sms_unreachable": True}, S.FAILED, "SMS only"),
        ({"channel": "telegram"}, S.FAILED, "SMS only"),
        ({"erased": True}, S.CANCELLED, "erased"),
    ],
)
def test_an_invite_is_not_sent_when_it_has_no_point_and_never_moves_to_telegram(
    change: dict[str, object], status: S, why: str
) -> None:
    reminder = replace(INVITE, **change)  # type: ignore[arg-type]
    decision = decided(reminder, invite_link=LINK)
    assert isinstance(decision, Outcome)
    assert decision.status == status and why in (decision.error or "")
    assert decision.channel is None


def test_an_invite_without_a_link_is_skipped_and_a_link_is_made_only_when_it_can_go() -> None:
    decision = decided(INVITE)
    assert isinstance(decision, Outcome) and decision.status == S.SKIPPED
    assert needs_invite_link(INVITE)
    assert not needs_invite_link(WELCOME)
    assert not needs_invite_link(replace(INVITE, telegram_chat_id=CHAT_ID))
    assert not needs_invite_link(replace(INVITE, sms_opted_out=True))
    assert not needs_invite_link(replace(INVITE, erased=True))


def test_an_invite_waits_out_quiet_hours_like_any_reminder() -> None:
    night = WELCOME.due_at.replace(hour=4)  # 23:00 in New York
    reminder = replace(INVITE, due_at=night, expires_at=night + timedelta(days=3))
    decision = decide(reminder, night, PROTOCOL, QUIET, BOTH, invite_link=LINK)
    assert isinstance(decision, Outcome) and decision.status == S.PENDING
    assert decision.next_attempt_at is not None and decision.next_attempt_at > night
