"""Reminders through the engine and the SMS channel, against the fake Twilio API."""

from __future__ import annotations

import itertools
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.sms.channel import MAX_VALIDITY_SECONDS
from messages import gsm7
from storage.models import Patient, Reminder
from tests.bot.sms.conftest import (
    FROM_NUMBER,
    PATIENT_PHONE,
    PUBLIC_BASE_URL,
    SmsFactory,
    SmsHarness,
    at_local,
)


def reminders(sms: SmsHarness, patient_id: int) -> list[Reminder]:
    with sms.core.db.session() as session:
        return list(
            session.scalars(
                select(Reminder).where(Reminder.patient_id == patient_id).order_by(Reminder.id)
            )
        )


def reminder(sms: SmsHarness, reminder_id: int) -> Reminder:
    with sms.core.db.session() as session:
        row = session.get(Reminder, reminder_id)
        assert row is not None
        return row


def patient(sms: SmsHarness, patient_id: int) -> Patient:
    with sms.core.db.session() as session:
        row = session.get(Patient, patient_id)
        assert row is not None
        return row


async def test_a_due_reminder_is_texted_with_its_cost_window_and_receipt_url(
    sms: SmsHarness,
) -> None:
    patient_id = sms.register()
    welcome = reminders(sms, patient_id)[0]

    assert await sms.dispatcher.dispatch_due() == 1

    [request] = sms.api.created
    assert request.account_sid == sms.adapter.config.account_sid
    assert request.form["To"] == PATIENT_PHONE
    assert request.form["From"] == FROM_NUMBER
    assert (
        request.form["StatusCallback"] == f"{PUBLIC_BASE_URL}/twilio/status?reminder={welcome.id}"
    )
    # No longer than what is left of the reminder's window (and within Twilio's maximum).
    remaining = (welcome.expires_at - sms.clock.now()).total_seconds()
    assert int(request.form["ValidityPeriod"]) == min(int(remaining), MAX_VALIDITY_SECONDS)
    sent = reminder(sms, welcome.id)
    assert sent.status == "sent"
    assert sent.provider_message_id == request.sid
    cost = gsm7.cost(request.form["Body"])
    assert (sent.encoding, sent.segments) == ("GSM-7", cost.segments)
    assert cost.segments <= 2


async def test_validity_period_is_the_remaining_window_when_it_is_short(
    sms: SmsHarness,
) -> None:
    patient_id = sms.register()
    welcome = reminders(sms, patient_id)[0]
    sms.clock.set(welcome.expires_at - timedelta(minutes=10, seconds=30))

    assert await sms.dispatcher.dispatch_due() == 1

    assert sms.api.created[0].form["ValidityPeriod"] == "630"


async def test_a_messaging_service_sends_when_configured(sms_factory: SmsFactory) -> None:
    sms = await sms_factory(twilio_from_number=None, twilio_messaging_service_sid="MG" + "1" * 32)
    sms.register()

    assert await sms.dispatcher.dispatch_due() == 1

    form = sms.api.created[0].form
    assert form["MessagingServiceSid"] == "MG" + "1" * 32
    assert "From" not in form


async def test_recipient_who_replied_stop_is_marked_opted_out_and_never_retried(
    sms: SmsHarness,
) -> None:
    patient_id = sms.register()
    welcome = reminders(sms, patient_id)[0]
    sms.api.fail_next(400, 21610, "Attempt to send to unsubscribed recipient")

    assert await sms.dispatcher.dispatch_due() == 0

    failed = reminder(sms, welcome.id)
    assert (failed.status, failed.error_code) == ("failed", "21610")
    assert PATIENT_PHONE not in (failed.last_error or "")
    assert patient(sms, patient_id).sms_opted_out
    # Nothing more goes out on SMS: not this reminder, not the next milestones.
    sms.clock.advance(timedelta(days=15))
    await sms.dispatcher.dispatch_due()
    assert len(sms.api.requests) == 1
    statuses = {r.status for r in reminders(sms, patient_id)}
    assert statuses <= {"failed", "cancelled", "expired"}


@pytest.mark.parametrize("code", [21211, 21614, 21612, 21408])
async def test_an_invalid_or_non_mobile_number_is_a_permanent_failure(
    sms: SmsHarness, code: int
) -> None:
    patient_id = sms.register()
    welcome = reminders(sms, patient_id)[0]
    sms.api.fail_next(400, code, "The 'To' number is not a valid mobile number")

    await sms.dispatcher.dispatch_due()
    sms.clock.advance(timedelta(hours=1))
    await sms.dispatcher.dispatch_due()

    failed = reminder(sms, welcome.id)
    assert (failed.status, failed.error_code, failed.attempts) == ("failed", str(code), 1)
    assert patient(sms, patient_id).sms_unreachable
    assert len(sms.api.requests) == 1


@pytest.mark.parametrize(("status", "code"), [(500, None), (503, None), (429, 20429), (400, 21611)])
async def test_server_errors_and_rate_limits_are_retried_with_backoff_inside_the_window(
    sms: SmsHarness, status: int, code: int | None
) -> None:
    patient_id = sms.register()
    welcome = reminders(sms, patient_id)[0]
    sms.api.fail_next(status, code, "Service unavailable")

    assert await sms.dispatcher.dispatch_due() == 0
    waiting = reminder(sms, welcome.id)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.next_attempt_at > sms.clock.now()
    assert waiting.next_attempt_at < waiting.expires_at
    assert await sms.dispatcher.dispatch_due() == 0  # not before the backoff

    sms.clock.set(waiting.next_attempt_at)
    assert await sms.dispatcher.dispatch_due() == 1
    assert reminder(sms, welcome.id).status == "sent"
    assert [r.response_status for r in sms.api.requests] == [status, 201]


async def test_a_timeout_is_retried(sms_factory: SmsFactory) -> None:
    sms = await sms_factory(twilio_timeout_seconds=0.2)
    patient_id = sms.register()
    welcome = reminders(sms, patient_id)[0]
    sms.api.slow_next(2.0)

    assert await sms.dispatcher.dispatch_due() == 0
    waiting = reminder(sms, welcome.id)
    assert (waiting.status, waiting.error_code) == ("pending", "timeout")

    sms.clock.set(waiting.next_attempt_at)
    assert await sms.dispatcher.dispatch_due() == 1


async def test_retries_stop_when_the_window_closes(sms: SmsHarness) -> None:
    patient_id = sms.register()
    welcome = reminders(sms, patient_id)[0]
    for _ in range(20):
        sms.api.fail_next(500)
    while (row := reminder(sms, welcome.id)).status == "pending":
        sms.clock.set(max(row.next_attempt_at, sms.clock.now()))
        await sms.dispatcher.dispatch_due()
    assert row.status in ("expired", "failed")
    assert all(r.at < welcome.expires_at for r in sms.api.requests)


async def test_the_sender_rate_is_never_exceeded(sms_factory: SmsFactory) -> None:
    sms = await sms_factory(sms_rate_per_second=1.0)
    for n in range(6):
        sms.register(f"P{n}", phone=f"+1555000{n:04d}")

    assert await sms.dispatcher.dispatch_due() == 6

    times = [r.at for r in sms.api.created]
    assert len(times) == 6
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 1.0


async def test_quiet_hours_hold_an_sms_reminder_until_morning(sms_factory: SmsFactory) -> None:
    sms = await sms_factory(quiet_hours="21:00-08:00")
    sms.clock.set(at_local(sms.clock, 20, 0))
    patient_id = sms.register(treated_ago=timedelta(minutes=1))
    makeup = next(r for r in reminders(sms, patient_id) if r.milestone == "makeup")
    # The engine comes round only at 21:30 the next evening, inside quiet hours.
    sms.clock.set(makeup.due_at + timedelta(minutes=91))

    assert await sms.dispatcher.dispatch_due() == 0
    assert sms.api.requests == []

    morning = at_local(sms.clock, 8, 0)
    assert reminder(sms, makeup.id).next_attempt_at == morning
    sms.clock.set(morning)
    assert await sms.dispatcher.dispatch_due() == 1
    [request] = sms.api.created
    local = request.at.astimezone(ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == (8, 0)
    assert reminder(sms, makeup.id).provider_message_id == request.sid


async def test_a_timed_out_text_that_reached_twilio_is_recorded_with_its_sid_not_sent_again(
    sms_factory: SmsFactory,
) -> None:
    sms = await sms_factory(twilio_timeout_seconds=0.2)
    welcome = reminders(sms, sms.register())[0]
    sms.api.accept_then_stall(2.0)  # Twilio takes the text; its answer never comes in time

    assert await sms.dispatcher.dispatch_due() == 0
    waiting = reminder(sms, welcome.id)
    assert (waiting.status, waiting.error_code) == ("pending", "timeout")
    [accepted] = sms.api.created

    sms.clock.set(waiting.next_attempt_at)
    assert await sms.dispatcher.dispatch_due() == 1

    assert sms.api.created == [accepted], "texted twice"
    [lookup] = sms.api.lookups
    assert (lookup["To"], lookup["From"]) == (PATIENT_PHONE, FROM_NUMBER)
    sent = reminder(sms, welcome.id)
    assert (sent.status, sent.provider_message_id, sent.attempts) == ("sent", accepted.sid, 2)


async def test_a_timed_out_text_that_never_reached_twilio_is_sent_on_the_retry(
    sms_factory: SmsFactory,
) -> None:
    sms = await sms_factory(twilio_timeout_seconds=0.2)
    welcome = reminders(sms, sms.register())[0]
    sms.api.stall_then_fail(2.0)  # held, then refused: Twilio never has it

    assert await sms.dispatcher.dispatch_due() == 0
    sms.clock.set(reminder(sms, welcome.id).next_attempt_at)
    assert await sms.dispatcher.dispatch_due() == 1

    [created] = sms.api.created
    assert len(sms.api.lookups) == 1
    assert reminder(sms, welcome.id).provider_message_id == created.sid


async def test_a_text_twilio_cannot_account_for_is_held_back_and_checked_again(
    sms_factory: SmsFactory,
) -> None:
    sms = await sms_factory(twilio_timeout_seconds=0.2)
    welcome = reminders(sms, sms.register())[0]
    sms.api.accept_then_stall(2.0)
    await sms.dispatcher.dispatch_due()
    sms.api.fail_next_lookup(503)

    sms.clock.set(reminder(sms, welcome.id).next_attempt_at)
    assert await sms.dispatcher.dispatch_due() == 0
    held = reminder(sms, welcome.id)
    assert (held.status, held.error_code, len(sms.api.created)) == ("pending", "timeout", 1)

    sms.clock.set(held.next_attempt_at)
    assert await sms.dispatcher.dispatch_due() == 1
    assert len(sms.api.created) == 1 and len(sms.api.lookups) == 2
    assert reminder(sms, welcome.id).provider_message_id == sms.api.created[0].sid


async def test_a_receipt_for_a_timed_out_text_records_it_as_sent_without_asking_twilio(
    sms_factory: SmsFactory,
) -> None:
    sms = await sms_factory(twilio_timeout_seconds=0.2)
    welcome = reminders(sms, sms.register())[0]
    sms.api.accept_then_stall(2.0)
    await sms.dispatcher.dispatch_due()
    [accepted] = sms.api.created
    assert accepted.sid is not None
    # Twilio's receipt names the reminder in its URL, so it finds the pending reminder.
    assert (await sms.status(accepted.sid, "sent", reminder_id=welcome.id)).status_code == 204

    sms.clock.set(reminder(sms, welcome.id).next_attempt_at)
    assert await sms.dispatcher.dispatch_due() == 1

    assert sms.api.created == [accepted] and sms.api.lookups == []
    sent = reminder(sms, welcome.id)
    assert (sent.status, sent.provider_message_id, sent.delivery_status) == (
        "sent",
        accepted.sid,
        "sent",
    )
