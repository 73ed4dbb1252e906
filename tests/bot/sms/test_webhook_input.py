"""Issue 9, finding 4: validly signed but hostile values in Twilio's webhooks.

A NUL byte cannot be stored in a PostgreSQL text column, and the review's `pus\\x00`
message got 500 on every retry, so the clinic never heard of it. Text is cleaned before
anything uses it; ids that no Twilio request carries get 400; no failing statement ever
writes the patient's words to the logs.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from aftercare.wiring import build_inbound
from messages.inbound_text import SMS_MAX_CHARS
from storage.models import InboundMessage
from tests.bot.conversation_kit import conversation_store_down, conversations, escalations
from tests.bot.sms.conftest import ACCOUNT_SID, PATIENT_PHONE, SmsFactory, SmsHarness, replies

ON_POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
async def core_sms(sms_factory: SmsFactory) -> SmsHarness:
    """The SMS webhooks answered by the real conversation core; staff alerted by SMS."""
    sms = await sms_factory(inbound=build_inbound)
    sms.alert_staff_by_sms()
    sms.register()
    return sms


# -- text ---------------------------------------------------------------------------------


async def test_a_nul_byte_in_a_red_flag_still_reaches_the_clinic(core_sms: SmsHarness) -> None:
    """The review's exact message; on PostgreSQL it used to fail with 500 on every retry."""
    [answer] = replies(await core_sms.text_in("I have pus\x00 and fever"))

    assert "Glow Skin Clinic on +15551234567" in answer
    [conversation] = conversations(core_sms.core.db)
    assert conversation.inbound_text == "I have pus and fever"
    [escalation] = escalations(core_sms.core.db)
    assert escalation.conversation_id == conversation.id
    assert escalation.alerted_at is not None
    assert len(core_sms.staff_alerts()) == 1


@pytest.mark.parametrize("control", ["\x00", "\x07", "\x1b[31m", "\x7f", "\x85"])
async def test_control_characters_are_removed_before_the_text_is_used(
    core_sms: SmsHarness, control: str
) -> None:
    replies(await core_sms.text_in(f"can I{control} wear makeup?"))

    [conversation] = conversations(core_sms.core.db)
    assert conversation.inbound_text is not None
    assert conversation.inbound_text.startswith("can I") and "makeup" in conversation.inbound_text
    assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in conversation.inbound_text)
    assert conversation.topic == "makeup"


async def test_a_text_longer_than_an_sms_can_be_is_cut_to_1600_characters(
    core_sms: SmsHarness,
) -> None:
    replies(await core_sms.text_in("I have pus and a fever " + "a" * 20_000))

    [conversation] = conversations(core_sms.core.db)
    assert conversation.inbound_text is not None
    assert len(conversation.inbound_text) == SMS_MAX_CHARS
    assert len(escalations(core_sms.core.db)) == 1


@pytest.mark.parametrize("sender", ["+1555\x000001111", "+1" + "5" * 100])
async def test_a_sender_that_is_no_phone_number_gets_400(core_sms: SmsHarness, sender: str) -> None:
    response = await core_sms.text_in("I have a fever", phone=sender)
    assert response.status_code == 400
    assert conversations(core_sms.core.db) == []


# -- ids ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sid",
    ["SM" + "a" * 63, "SM-1234", "SM 1234", "SM\x001234", "SMé1234", "' OR 1=1 --"],
    ids=["65 characters", "dash", "space", "nul", "accent", "quote"],
)
async def test_a_message_sid_that_no_twilio_message_has_gets_400(
    core_sms: SmsHarness, sid: str
) -> None:
    response = await core_sms.text_in("I have a fever", sid=sid)

    assert response.status_code == 400
    assert conversations(core_sms.core.db) == []
    with core_sms.core.db.session() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 0


@pytest.mark.parametrize("sid", ["SM" + "0123456789abcdef" * 2, "MM" + "F" * 32, "x" * 64])
async def test_twilio_shaped_message_sids_are_accepted(core_sms: SmsHarness, sid: str) -> None:
    assert len(replies(await core_sms.text_in("Can I wear makeup?", sid=sid))) == 1


@pytest.mark.parametrize(
    "reminder", ["9223372036854775808", "0", "-1", "abc", "1e3", "\u00b2", "1" * 400, ""]
)
async def test_a_reminder_parameter_that_is_not_a_positive_int64_gets_400(
    core_sms: SmsHarness, reminder: str
) -> None:
    params = {"MessageSid": "SM" + "b" * 32, "MessageStatus": "sent", "AccountSid": ACCOUNT_SID}

    response = await core_sms.post_signed(f"/twilio/status?reminder={quote(reminder)}", params)

    assert response.status_code == 400


@pytest.mark.parametrize("reminder", ["2147483648", "9223372036854775807"])
async def test_a_reminder_id_past_the_columns_range_is_an_unknown_reminder(
    core_sms: SmsHarness, reminder: str
) -> None:
    """Valid, but larger than PostgreSQL's 32-bit id column: no such reminder, no 500."""
    params = {"MessageSid": "SM" + "b" * 32, "MessageStatus": "sent", "AccountSid": ACCOUNT_SID}
    response = await core_sms.post_signed(f"/twilio/status?reminder={reminder}", params)
    assert response.status_code == 204


@pytest.mark.parametrize("code", ["3000\x003", "x" * 40, "30003; DROP"])
async def test_a_status_callback_error_code_that_is_not_a_number_gets_400(
    core_sms: SmsHarness, code: str
) -> None:
    params = {
        "MessageSid": "SM" + "b" * 32,
        "MessageStatus": "failed",
        "AccountSid": ACCOUNT_SID,
        "ErrorCode": code,
    }
    response = await core_sms.post_signed("/twilio/status?reminder=1", params)
    assert response.status_code == 400


# -- logs ---------------------------------------------------------------------------------


@ON_POSTGRESQL
async def test_a_failing_statement_on_postgresql_never_logs_the_patients_words(
    core_sms: SmsHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # INFO is where SQLAlchemy logs each statement with its parameters (off by default).
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    words = "yellow pus on my left cheek"

    with conversation_store_down(core_sms.core.db):
        response = await core_sms.text_in(words)

    assert response.status_code == 500  # Twilio retries it
    assert "conversation store is down" in caplog.text  # the failure itself is logged
    logged = caplog.text + "".join(
        f"{record.args}{record.exc_text}{record.exc_info}" for record in caplog.records
    )
    for secret in ("yellow pus", "left cheek", PATIENT_PHONE):
        assert secret not in logged
