"""The outbound channel alone: the real twilio client against the fake API, each error
class, and what reaches the logs."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from types import SimpleNamespace

import pytest

from bot.sms.adapter import SmsAdapter, TwilioConfig
from bot.sms.channel import SmsSender, is_earlier_copy, validity_seconds
from bot.sms.http import RebasedTwilioHttpClient
from messages.protocol_files import load_protocol
from scheduler.clock import FakeClock
from scheduler.ports import OutboundMessage, SendResult, SendStatus
from storage.db import Database
from storage.sms import SmsStore
from tests.bot.sms.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM_NUMBER,
    PATIENT_PHONE,
    PUBLIC_BASE_URL,
    ScriptedConversations,
)
from tests.conftest import T0
from tests.fakes.twilio_api import FakeTwilioApi

BODY = "Makeup can go back on today: mineral, on clean skin, with clean brushes."


def make_adapter(
    api_url: str,
    sqlite_url: str,
    clock: FakeClock,
    *,
    timeout: float = 2.0,
    token: str = AUTH_TOKEN,
) -> SmsAdapter:
    config = TwilioConfig(
        ACCOUNT_SID,
        token,
        SmsSender(FROM_NUMBER),
        api_base_url=api_url,
        public_base_url=PUBLIC_BASE_URL,
        timeout_seconds=timeout,
    )
    store = SmsStore(Database(sqlite_url))
    protocol = load_protocol(None)
    return SmsAdapter(
        config,
        store,
        ScriptedConversations(),
        clock,
        rate_per_second=1,
        emergency_number="911",
        protocols={protocol.name: protocol},
        default_protocol=protocol,
    )


@pytest.fixture
async def adapter(
    twilio_api: FakeTwilioApi, sqlite_url: str, clock: FakeClock
) -> AsyncIterator[SmsAdapter]:
    built = make_adapter(twilio_api.url, sqlite_url, clock)
    await built.start()
    yield built
    await built.stop()


def message(
    clock: FakeClock, text: str = BODY, window: timedelta = timedelta(hours=20)
) -> OutboundMessage:
    return OutboundMessage(
        channel="sms",
        address=PATIENT_PHONE,
        text=text,
        patient_id=7,
        reminder_id=42,
        valid_until=clock.now() + window,
    )


async def test_a_sent_text_carries_the_twilio_sid_encoding_and_segments(
    adapter: SmsAdapter, twilio_api: FakeTwilioApi, clock: FakeClock
) -> None:
    result = await adapter.channel.send(message(clock))

    [request] = twilio_api.created
    assert result == SendResult.sent(request.sid, encoding="GSM-7", segments=1)
    assert request.form["Body"] == BODY
    assert request.form["ValidityPeriod"] == "36000"  # Twilio's maximum, inside 20 h
    assert request.form["StatusCallback"] == f"{PUBLIC_BASE_URL}/twilio/status?reminder=42"


async def test_a_text_outside_gsm7_is_counted_as_ucs2(
    adapter: SmsAdapter, clock: FakeClock
) -> None:
    result = await adapter.channel.send(message(clock, "Hola Mónica 😊 " + "x" * 60))
    assert (result.encoding, result.segments) == ("UCS-2", 2)


@pytest.mark.parametrize(
    ("status", "code", "problem_details", "expected", "opted_out", "unreachable"),
    [
        (400, 21610, False, SendStatus.PERMANENT, True, False),
        (400, 21610, True, SendStatus.PERMANENT, True, False),  # TwilioServiceException
        (400, 21211, False, SendStatus.PERMANENT, False, True),
        (400, 21614, False, SendStatus.PERMANENT, False, True),
        (400, 21612, True, SendStatus.PERMANENT, False, True),
        (400, 21408, False, SendStatus.PERMANENT, False, True),
        (400, 21602, False, SendStatus.PERMANENT, False, False),  # message body required
        (429, 20429, False, SendStatus.TRANSIENT, False, False),
        (429, None, False, SendStatus.TRANSIENT, False, False),
        (500, None, False, SendStatus.TRANSIENT, False, False),
        (502, None, True, SendStatus.TRANSIENT, False, False),
        (503, None, False, SendStatus.TRANSIENT, False, False),
    ],
)
async def test_each_twilio_error_is_classified(
    adapter: SmsAdapter,
    twilio_api: FakeTwilioApi,
    clock: FakeClock,
    status: int,
    code: int | None,
    problem_details: bool,
    expected: SendStatus,
    opted_out: bool,
    unreachable: bool,
) -> None:
    twilio_api.fail_next(
        status, code, "Something about the number", problem_details=problem_details
    )

    result = await adapter.channel.send(message(clock))

    assert (result.status, result.opted_out, result.unreachable) == (
        expected,
        opted_out,
        unreachable,
    )
    assert result.error_code == str(code or status)
    assert result.error and PATIENT_PHONE not in result.error
    if status == 429:
        assert result.retry_after and result.retry_after > 0


async def test_a_slow_api_is_a_transient_timeout(
    twilio_api: FakeTwilioApi, sqlite_url: str, clock: FakeClock
) -> None:
    adapter = make_adapter(twilio_api.url, sqlite_url, clock, timeout=0.2)
    await adapter.start()
    twilio_api.slow_next(2.0)
    try:
        result = await adapter.channel.send(message(clock))
    finally:
        await adapter.stop()
    assert (result.status, result.error_code) == (SendStatus.TRANSIENT, "timeout")


async def test_an_unreachable_api_is_a_transient_network_error(
    sqlite_url: str, clock: FakeClock
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    adapter = make_adapter(f"http://127.0.0.1:{port}", sqlite_url, clock)
    await adapter.start()
    try:
        result = await adapter.channel.send(message(clock))
    finally:
        await adapter.stop()
    assert (result.status, result.error_code) == (SendStatus.TRANSIENT, "network")


async def test_wrong_credentials_are_retried_not_blamed_on_the_patient(
    twilio_api: FakeTwilioApi, sqlite_url: str, clock: FakeClock
) -> None:
    adapter = make_adapter(twilio_api.url, sqlite_url, clock, token="wrong")
    await adapter.start()
    try:
        result = await adapter.channel.send(message(clock))
    finally:
        await adapter.stop()
    assert (result.status, result.error_code) == (SendStatus.TRANSIENT, "20003")
    assert not (result.opted_out or result.unreachable)


async def test_nothing_is_sent_once_the_window_has_closed(
    adapter: SmsAdapter, twilio_api: FakeTwilioApi, clock: FakeClock
) -> None:
    result = await adapter.channel.send(message(clock, window=timedelta(milliseconds=500)))
    assert result.status == SendStatus.TRANSIENT
    assert twilio_api.requests == []


async def test_a_stopped_channel_fails_transiently(
    adapter: SmsAdapter, twilio_api: FakeTwilioApi, clock: FakeClock
) -> None:
    await adapter.stop()
    result = await adapter.channel.send(message(clock))
    assert (result.status, result.error_code) == (SendStatus.TRANSIENT, "not_started")
    assert twilio_api.requests == []


async def test_no_phone_number_or_body_reaches_the_logs(
    adapter: SmsAdapter,
    twilio_api: FakeTwilioApi,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await adapter.channel.send(message(clock))
    for status, code in [(400, 21610), (400, 21211), (500, None)]:
        twilio_api.fail_next(status, code, "The number is wrong")
        await adapter.channel.send(message(clock))
    assert len(twilio_api.requests) == 4
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in (PATIENT_PHONE, PATIENT_PHONE[2:], BODY, "Makeup can go back", AUTH_TOKEN):
        assert secret not in logged


@pytest.mark.parametrize(
    ("left", "expected"),
    [
        (timedelta(hours=30), 36_000),
        (timedelta(hours=2, seconds=0.9), 7200),
        (timedelta(seconds=1), 1),
        (timedelta(seconds=0.5), 0),
        (timedelta(seconds=-10), 0),
    ],
)
def test_validity_is_the_whole_seconds_left_capped_at_twilios_maximum(
    clock: FakeClock, left: timedelta, expected: int
) -> None:
    assert validity_seconds(clock.now() + left, clock.now()) == expected
    assert validity_seconds(None, clock.now()) is None


async def test_the_http_client_keeps_path_and_query_on_the_configured_host() -> None:
    client = RebasedTwilioHttpClient("http://127.0.0.1:9999/twilio-fake/")
    default = RebasedTwilioHttpClient()
    try:
        url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?PageSize=5"
        assert client.rebase(url) == (
            "http://127.0.0.1:9999/twilio-fake/2010-04-01/Accounts/AC1/Messages.json?PageSize=5"
        )
        assert default.rebase(url) == url
    finally:
        await client.close()
        await default.close()


def test_a_base_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match="TWILIO_API_BASE_URL"):
        RebasedTwilioHttpClient("api.twilio.com")


def twilio_message(**fields: object) -> SimpleNamespace:
    """What the client's MessageInstance offers the lookup: these attributes."""
    values: dict[str, object] = {
        "sid": "SM" + "1" * 32,
        "direction": "outbound-api",
        "to": PATIENT_PHONE,
        "from_": FROM_NUMBER,
        "messaging_service_sid": None,
        "body": BODY,
        "date_created": T0,
    }
    values.update(fields)
    return SimpleNamespace(**values)


@pytest.mark.parametrize(
    ("fields", "sender", "expected"),
    [
        ({}, SmsSender(FROM_NUMBER), True),
        ({"body": BODY + "!"}, SmsSender(FROM_NUMBER), False),
        ({"direction": "inbound"}, SmsSender(FROM_NUMBER), False),
        ({"to": "+15550002222"}, SmsSender(FROM_NUMBER), False),
        ({"from_": "+15005550009"}, SmsSender(FROM_NUMBER), False),
        # Older than the reminder's due time, beyond any clock difference: another text.
        ({"date_created": T0 - timedelta(minutes=6)}, SmsSender(FROM_NUMBER), False),
        ({"date_created": T0 - timedelta(minutes=4)}, SmsSender(FROM_NUMBER), True),
        ({"from_": "+15005550009", "messaging_service_sid": "MG1"}, SmsSender(None, "MG1"), True),
        ({"messaging_service_sid": "MG2"}, SmsSender(None, "MG1"), False),
    ],
)
def test_an_earlier_copy_is_the_same_text_to_the_same_number_from_us_since_it_fell_due(
    fields: dict[str, object], sender: SmsSender, expected: bool
) -> None:
    outbound = replace(message(FakeClock(T0)), unconfirmed_since=T0)
    assert is_earlier_copy(twilio_message(**fields), outbound, sender) is expected
    never_timed_out = replace(outbound, unconfirmed_since=None)
    assert not is_earlier_copy(twilio_message(**fields), never_timed_out, sender)


async def test_a_copy_twilio_already_has_is_reported_sent_without_sending_again(
    adapter: SmsAdapter,
    twilio_api: FakeTwilioApi,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    twilio_api.add_message(PATIENT_PHONE, "Another text", clock.now(), FROM_NUMBER)
    copy = twilio_api.add_message(PATIENT_PHONE, BODY, clock.now(), FROM_NUMBER)
    twilio_api.add_message("+15550002222", BODY, clock.now(), FROM_NUMBER)
    clock.advance(timedelta(seconds=30))

    result = await adapter.channel.send(replace(message(clock), unconfirmed_since=copy.created_at))

    assert result == SendResult.sent(copy.sid, encoding="GSM-7", segments=1)
    assert twilio_api.requests == []
    # Ours only: the library logs the lookup's query (the number) at INFO, and the service
    # keeps the "twilio" logger at WARNING (aftercare.logs.configure_logging).
    ours = [r for r in caplog.records if not r.name.startswith("twilio")]
    logged = "".join(r.getMessage() for r in ours)
    assert "reminder 42" in logged
    assert PATIENT_PHONE not in logged and BODY not in logged


async def test_without_a_copy_at_twilio_the_text_is_sent(
    adapter: SmsAdapter, twilio_api: FakeTwilioApi, clock: FakeClock
) -> None:
    due = clock.now()
    twilio_api.add_message(PATIENT_PHONE, BODY, due - timedelta(days=1), FROM_NUMBER)

    result = await adapter.channel.send(replace(message(clock), unconfirmed_since=due))

    [created] = twilio_api.created
    assert result.provider_message_id == created.sid
    assert len(twilio_api.lookups) == 1


async def test_a_lookup_that_times_out_holds_the_text_back_as_still_unconfirmed(
    twilio_api: FakeTwilioApi, sqlite_url: str, clock: FakeClock
) -> None:
    adapter = make_adapter(twilio_api.url, sqlite_url, clock, timeout=0.2)
    await adapter.start()
    twilio_api.fail_next_lookup(500, delay=2.0)
    try:
        result = await adapter.channel.send(replace(message(clock), unconfirmed_since=clock.now()))
    finally:
        await adapter.stop()
    assert (result.status, result.error_code) == (SendStatus.TRANSIENT, "timeout")
    assert twilio_api.requests == []
