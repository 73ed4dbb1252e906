"""Deciding a claimed reminder after a timed-out send (pure, no I/O)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from messages.protocol_files import load_protocol
from scheduler.decisions import Ready, decide
from scheduler.ports import OutboundMessage
from storage.models import ReminderStatus
from storage.reminders import ClaimedReminder, Outcome
from tests.conftest import T0

PROTOCOL = load_protocol()
WELCOME = ClaimedReminder(
    id=7,
    milestone="welcome",
    channel="sms",
    due_at=T0,
    expires_at=T0 + timedelta(hours=12),
    attempts=1,
    treatment_id=3,
    performed_at=T0,
    registered_at=T0,
    protocol=PROTOCOL.name,
    treatment_cancelled=False,
    patient_id=5,
    first_name="Ana",
    phone="+15550001111",
    telegram_chat_id=None,
    timezone="America/New_York",
    language="en",
    sms_opted_out=False,
    sms_unreachable=False,
    telegram_unreachable=False,
    paused=False,
    erased=False,
    clinic_name="Glow Skin Clinic",
    clinic_phone="+12125550100",
)
LATER = T0 + timedelta(minutes=2)


def message_for(reminder: ClaimedReminder) -> OutboundMessage:
    decision = decide(reminder, LATER, PROTOCOL, None, frozenset({"sms"}))
    assert isinstance(decision, Ready)
    return decision.message


def test_after_a_timeout_the_text_is_marked_unconfirmed_since_it_fell_due() -> None:
    timed_out = replace(WELCOME, error_code="timeout")
    assert message_for(timed_out).unconfirmed_since == T0
    assert message_for(replace(WELCOME, error_code="500")).unconfirmed_since is None
    assert message_for(WELCOME).unconfirmed_since is None


def test_a_receipt_that_brought_the_providers_id_means_it_was_sent() -> None:
    receipted = replace(WELCOME, error_code="timeout", provider_message_id="SM" + "2" * 32)
    decision = decide(receipted, LATER, PROTOCOL, None, frozenset({"sms"}))
    assert decision == Outcome(
        7, ReminderStatus.SENT, LATER, error=None, provider_message_id="SM" + "2" * 32
    )
