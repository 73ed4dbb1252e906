"""The Telegram channel: what each Bot API answer means for a reminder."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from telegram.error import RetryAfter

from aftercare.wiring import Core
from bot.telegram.adapter import TelegramAdapter
from bot.telegram.channel import ChatSpacing, retry_after_seconds
from scheduler.clock import FakeClock
from scheduler.dispatcher import ChannelLane, DispatchConfig, Dispatcher
from scheduler.ports import OutboundMessage, SendStatus
from scheduler.rate_limit import RateLimiter
from storage.models import Patient, Reminder
from storage.patients import ClinicView
from tests.bot.telegram.conftest import CHAT, dispatcher_for, enrol
from tests.bot.telegram.test_commands import bound, patient_row
from tests.fakes.telegram_api import FakeTelegramApi

# PTB announces (on every RetryAfter) that retry_after becomes a timedelta; both are handled.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def message(text: str = "Hi <b>there</b>", chat_id: int = CHAT) -> OutboundMessage:
    return OutboundMessage("telegram", str(chat_id), text, patient_id=1, reminder_id=1)


async def test_a_reminder_is_sent_at_its_due_time_as_html(
    adapter: TelegramAdapter,
    fake_api: FakeTelegramApi,
    tg_core: Core,
    glow: ClinicView,
    clock: FakeClock,
) -> None:
    patient_id = await bound(fake_api, tg_core, glow)
    dispatcher = dispatcher_for(tg_core, adapter)
    clock.advance(timedelta(hours=21, minutes=59))
    assert await dispatcher.dispatch_due() == 0  # one minute early: nothing

    clock.advance(timedelta(minutes=1))  # 24 h after the treatment
    assert await dispatcher.dispatch_due() == 2  # makeup, and the 24-hour check-in
    assert await dispatcher.dispatch_due() == 0  # and only once

    reminder = next(m for m in reversed(fake_api.sent(CHAT)) if "Makeup can go" in m.text)
    assert "<b>Makeup can go back on</b>" in reminder.text
    assert reminder.params["parse_mode"] == "HTML"
    with tg_core.db.session() as session:
        row = session.scalars(
            select(Reminder).where(
                Reminder.patient_id == patient_id, Reminder.milestone == "makeup"
            )
        ).one()
        assert row.status == "sent" and row.sent_at == clock.now()
        assert row.provider_message_id == str(reminder.params["_message_id"])


async def test_blocked_bot_is_permanent_and_marks_the_patient_unreachable(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView
) -> None:
    patient_id = await bound(fake_api, tg_core, glow)
    fake_api.block()

    result = await adapter.channel.send(message())

    assert result.status == SendStatus.PERMANENT and result.unreachable
    assert result.error_code == "403"
    assert patient_row(tg_core, patient_id).telegram_unreachable


async def test_a_blocked_patient_with_a_phone_gets_later_reminders_by_sms(
    adapter: TelegramAdapter,
    fake_api: FakeTelegramApi,
    tg_core: Core,
    glow: ClinicView,
    clock: FakeClock,
) -> None:
    from bot.memory import MemoryChannel

    patient_id = await bound(fake_api, tg_core, glow, phone="+15550001111")
    sms = MemoryChannel("sms")
    dispatcher = Dispatcher(
        tg_core.reminders,
        tg_core.patients,
        [
            ChannelLane("telegram", adapter.channel, RateLimiter(None, clock)),
            ChannelLane("sms", sms, RateLimiter(None, clock)),
        ],
        tg_core.protocols,
        tg_core.protocol,
        clock,
        DispatchConfig(),
    )
    clock.advance(timedelta(hours=22))
    fake_api.block()
    fake_api.block()  # both texts due now are refused
    # The refusal moves the makeup reminder and the check-in due with it to the SMS lane,
    # which takes them on its next round.
    assert await dispatcher.dispatch_due() + await dispatcher.dispatch_due() == 2
    assert [d.message.channel for d in sms.sent] == ["sms", "sms"]
    assert patient_row(tg_core, patient_id).telegram_unreachable


async def test_flood_control_is_transient_with_the_wait_asked_for(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi
) -> None:
    fake_api.flood(retry_after=7)

    result = await adapter.channel.send(message())

    assert result.status == SendStatus.TRANSIENT
    assert (result.retry_after, result.error_code) == (7.0, "429")


async def test_the_engine_honours_retry_after(
    adapter: TelegramAdapter,
    fake_api: FakeTelegramApi,
    tg_core: Core,
    glow: ClinicView,
    clock: FakeClock,
) -> None:
    await bound(fake_api, tg_core, glow)
    with tg_core.db.session() as session:  # only the makeup reminder is due at 24 h here
        session.execute(
            update(Reminder)
            .where(Reminder.milestone.in_(tg_core.protocol.checkins))
            .values(status="skipped")
        )
    dispatcher = dispatcher_for(tg_core, adapter)
    clock.advance(timedelta(hours=22))
    fake_api.flood(retry_after=120)
    assert await dispatcher.dispatch_due() == 0
    with tg_core.db.session() as session:
        row = session.scalars(select(Reminder).where(Reminder.milestone == "makeup")).one()
        assert row.status == "pending" and row.error_code == "429"
        assert row.next_attempt_at >= clock.now() + timedelta(seconds=120)
    clock.advance(timedelta(seconds=120))
    assert await dispatcher.dispatch_due() == 1


def test_retry_after_may_be_seconds_or_a_timedelta() -> None:
    assert retry_after_seconds(RetryAfter(5)) == 5.0
    assert retry_after_seconds(RetryAfter(timedelta(seconds=90))) == 90.0


async def test_bad_request_is_permanent_and_not_retried(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi
) -> None:
    fake_api.bad_request("Bad Request: can't parse entities: unsupported start tag")

    result = await adapter.channel.send(message())

    assert result.status == SendStatus.PERMANENT and not result.unreachable
    assert result.error_code == "400" and "can't parse entities" in (result.error or "").lower()


async def test_chat_not_found_means_unreachable(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi
) -> None:
    fake_api.bad_request("Bad Request: chat not found")
    result = await adapter.channel.send(message())
    assert result.status == SendStatus.PERMANENT and result.unreachable


async def test_server_errors_are_transient(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi
) -> None:
    fake_api.fail_next("sendMessage", 502, "Bad Gateway")
    result = await adapter.channel.send(message())
    assert result.status == SendStatus.TRANSIENT


async def test_an_address_that_is_not_a_chat_id(adapter: TelegramAdapter) -> None:
    result = await adapter.channel.send(OutboundMessage("telegram", "+15550001111", "hi"))
    assert result.status == SendStatus.PERMANENT


async def test_one_message_per_second_per_chat_others_do_not_wait(clock: FakeClock) -> None:
    spacing = ChatSpacing(clock)
    start = clock.now()
    await spacing.wait(1)
    await spacing.wait(2)
    assert clock.now() == start  # different chats: no wait
    await spacing.wait(1)
    assert clock.now() - start == timedelta(seconds=1)
    await spacing.wait(1)
    assert clock.now() - start == timedelta(seconds=2)


async def test_the_channel_spaces_messages_to_one_chat(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, clock: FakeClock
) -> None:
    start = clock.now()
    for _ in range(3):
        result = await adapter.channel.send(message())
        assert result.status == SendStatus.SENT
    assert clock.now() - start == timedelta(seconds=2)
    assert clock.slept == [1.0, 1.0]


async def test_blocking_and_unblocking_the_bot_updates_reachability(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView
) -> None:
    patient_id = await bound(fake_api, tg_core, glow)

    async def status_is(unreachable: bool) -> None:
        # The update is handled in the background; poll the database until it shows.
        async with asyncio.timeout(5):
            while patient_row(tg_core, patient_id).telegram_unreachable != unreachable:  # noqa: ASYNC110
                await asyncio.sleep(0.01)

    await fake_api.member_status(CHAT, "kicked")
    await status_is(True)
    await fake_api.member_status(CHAT, "member")
    await status_is(False)


@pytest.mark.parametrize("language", ["en", "es"])
def test_enrolled_patients_keep_their_language(
    tg_core: Core, glow: ClinicView, language: str
) -> None:
    registration, _ = enrol(tg_core, glow, timedelta(hours=1), language=language)
    with tg_core.db.session() as session:
        patient = session.get(Patient, registration.patient_id)
        assert patient is not None and patient.language == language
