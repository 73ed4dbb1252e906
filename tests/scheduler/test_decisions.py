"""The pure decisions on a claimed reminder: whether to send it now (and what), and what a
send's result means for it and for the patient. No database, no clock, no channel."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from messages.protocol_files import load_protocol
from scheduler.decisions import PatientFlag, Ready, RetryPolicy, address_for, after_send, decide
from scheduler.ports import OutboundMessage, SendResult, SendStatus
from scheduler.quiet_hours import QuietHours
from storage.values import ClaimedReminder, Outcome
from storage.values import ReminderStatus as S

PROTOCOL = load_protocol()
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in New York (UTC-5)
LATER = T0 + timedelta(minutes=2)
QUIET = QuietHours.parse("21:00-08:00")
BOTH = frozenset({"sms", "telegram"})
SMS_ONLY = frozenset({"sms"})
POLICY = RetryPolicy(base=timedelta(seconds=30), cap=timedelta(minutes=30), max_attempts=8)
CHAT_ID = 424242
NEW_YORK = ZoneInfo("America/New_York")
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
ON_BOTH = replace(WELCOME, telegram_chat_id=CHAT_ID)


def ready(reminder: ClaimedReminder, now: datetime = LATER) -> Ready:
    decision = decide(reminder, now, PROTOCOL, None, BOTH)
    assert isinstance(decision, Ready), decision
    return decision


def message_for(reminder: ClaimedReminder, now: datetime = LATER) -> OutboundMessage:
    return ready(reminder, now).message


def new_york(day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in New York in March 2026, as UTC."""
    return datetime(2026, 3, day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


# --- cleared to send ----------------------------------------------------------------------------


def test_a_reachable_patient_gets_the_text_rendered_for_the_channel() -> None:
    message = message_for(WELCOME)
    assert message.channel == "sms" and message.address == "+15550001111"
    assert message.text.startswith("Glow Skin Clinic: Hi Ana!")
    assert (message.patient_id, message.reminder_id) == (5, 7)
    assert message.valid_until == WELCOME.expires_at  # the provider drops it after the window


def test_telegram_goes_to_the_chat_with_the_telegram_rendering() -> None:
    message = message_for(replace(ON_BOTH, channel="telegram"))
    assert message.channel == "telegram" and message.address == str(CHAT_ID)
    assert message.text.startswith("👋 Hi Ana, this is Glow Skin Clinic")


def test_a_text_that_speaks_of_an_emergency_names_the_deployments_number() -> None:
    for reminder, said in [
        (WELCOME, "Swollen lips/hard to breathe: call 112."),
        (replace(ON_BOTH, channel="telegram"), "lips, tongue or throat: call 112 now."),
        (replace(WELCOME, language="es"), "Labios hinchados/ahogo: llama al 112."),
    ]:
        decision = decide(reminder, LATER, PROTOCOL, None, BOTH, emergency_number="112")
        assert isinstance(decision, Ready) and said in decision.message.text


def test_the_patients_language_is_used() -> None:
    assert message_for(replace(WELCOME, language="es")).text.startswith(
        "Glow Skin Clinic: Hola Ana."
    )


def test_an_unknown_channel_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown channel 'fax'"):
        address_for(WELCOME, "fax")


# --- a late welcome names dates in the patient's zone, as of the moment it is sent --------------

REGISTERED_LATE = T0 + timedelta(hours=30)  # Tue 16:00 in New York: makeup is OK again
LATE = replace(
    WELCOME,
    registered_at=REGISTERED_LATE,
    due_at=REGISTERED_LATE,
    expires_at=REGISTERED_LATE + timedelta(hours=12),
)


def test_a_late_welcome_sms_says_until_when_each_thing_is_still_off() -> None:
    text = message_for(LATE, now=REGISTERED_LATE).text
    lines = text.splitlines()
    assert "No sweat/pools till Wed 10am." in lines
    assert "No retinol/acids till Thu 10am; no scrubs." in lines
    assert lines[-1] == "SPF 30+ daily."


def test_a_late_welcome_is_written_relative_to_when_it_is_sent() -> None:
    telegram = replace(LATE, channel="telegram", telegram_chat_id=CHAT_ID)
    on_tuesday = message_for(telegram, now=new_york(3, 16)).text
    on_wednesday = message_for(telegram, now=new_york(4, 0, 30)).text
    assert "swimming until <b>tomorrow at 10:00 am</b>" in on_tuesday
    assert "swimming until <b>today at 10:00 am</b>" in on_wednesday


def test_a_timed_reminder_of_a_late_patient_is_its_own_text() -> None:
    due = T0 + timedelta(hours=48)
    sweat = replace(LATE, milestone="sweat", due_at=due, expires_at=due + timedelta(hours=24))
    text = message_for(sweat, now=sweat.due_at).text
    assert "till" not in text
    assert text == message_for(replace(sweat, registered_at=T0), now=sweat.due_at).text


# --- why not now: receipts, erasure, cancellation, expiry, pause --------------------------------


def test_a_receipt_that_brought_the_providers_id_means_it_was_sent() -> None:
    receipted = replace(WELCOME, error_code="timeout", provider_message_id="SM" + "2" * 32)
    decision = decide(receipted, LATER, PROTOCOL, None, SMS_ONLY)
    assert decision == Outcome(7, S.SENT, LATER, error=None, provider_message_id="SM" + "2" * 32)


def test_an_erased_patient_gets_nothing() -> None:
    erased = replace(WELCOME, erased=True, paused=True)  # erasure wins over everything else
    assert decide(erased, LATER, PROTOCOL, QUIET, BOTH) == Outcome(
        7, S.CANCELLED, LATER, error="patient erased"
    )


def test_a_cancelled_treatment_cancels_its_reminders() -> None:
    cancelled = replace(WELCOME, treatment_cancelled=True)
    assert decide(cancelled, LATER, PROTOCOL, QUIET, BOTH) == Outcome(
        7, S.CANCELLED, LATER, error="treatment cancelled"
    )


@pytest.mark.parametrize("late_by", [timedelta(0), timedelta(hours=3)])
def test_a_reminder_whose_window_has_closed_expires(late_by: timedelta) -> None:
    now = WELCOME.expires_at + late_by
    assert decide(WELCOME, now, PROTOCOL, None, BOTH) == Outcome(
        7, S.EXPIRED, now, error="window closed before it could be sent"
    )


def test_one_moment_before_its_window_closes_it_is_still_sent() -> None:
    assert isinstance(ready(WELCOME, now=WELCOME.expires_at - timedelta(seconds=1)), Ready)


def test_a_patient_who_paused_reminders_is_skipped() -> None:
    paused = replace(WELCOME, paused=True)
    assert decide(paused, LATER, PROTOCOL, None, BOTH) == Outcome(
        7, S.SKIPPED, LATER, error="reminders paused by the patient"
    )


# --- channel fallback --------------------------------------------------------------------------


def test_an_sms_the_patient_cannot_get_moves_to_telegram_now() -> None:
    unreachable = replace(ON_BOTH, sms_unreachable=True)
    assert decide(unreachable, LATER, PROTOCOL, None, BOTH) == Outcome(
        7, S.PENDING, LATER, next_attempt_at=LATER, channel="telegram"
    )


def test_a_telegram_reminder_for_a_blocked_bot_moves_to_sms() -> None:
    blocked = replace(ON_BOTH, channel="telegram", telegram_unreachable=True)
    assert decide(blocked, LATER, PROTOCOL, None, BOTH) == Outcome(
        7, S.PENDING, LATER, next_attempt_at=LATER, channel="sms"
    )


def test_an_opted_out_patient_with_telegram_gets_it_there() -> None:
    opted_out = replace(ON_BOTH, sms_opted_out=True)
    decision = decide(opted_out, LATER, PROTOCOL, None, BOTH)
    assert isinstance(decision, Outcome) and decision.channel == "telegram"


def test_an_opted_out_patient_without_another_channel_is_cancelled() -> None:
    opted_out = replace(WELCOME, sms_opted_out=True)
    assert decide(opted_out, LATER, PROTOCOL, None, BOTH) == Outcome(
        7, S.CANCELLED, LATER, error="patient opted out of SMS"
    )


def test_the_other_channel_only_counts_when_this_engine_has_it() -> None:
    unreachable = replace(ON_BOTH, sms_unreachable=True)
    assert decide(unreachable, LATER, PROTOCOL, None, SMS_ONLY) == Outcome(
        7, S.FAILED, LATER, error="no way to reach the patient on sms"
    )


def test_an_sms_for_a_patient_without_a_phone_fails() -> None:
    no_phone = replace(WELCOME, phone=None)
    assert decide(no_phone, LATER, PROTOCOL, None, BOTH) == Outcome(
        7, S.FAILED, LATER, error="no way to reach the patient on sms"
    )


# --- quiet hours --------------------------------------------------------------------------------


def test_a_reminder_in_quiet_hours_waits_for_the_morning_in_the_patients_zone() -> None:
    night = new_york(2, 22)
    long_window = replace(WELCOME, expires_at=T0 + timedelta(days=1))
    assert decide(long_window, night, PROTOCOL, QUIET, BOTH) == Outcome(
        7, S.PENDING, night, next_attempt_at=new_york(3, 8)
    )


def test_quiet_hours_follow_the_patients_zone_not_the_servers() -> None:
    night_in_new_york = new_york(2, 22)  # 04:00 the next day in Madrid: also quiet
    madrid = replace(WELCOME, timezone="Europe/Madrid", expires_at=T0 + timedelta(days=1))
    decision = decide(madrid, night_in_new_york, PROTOCOL, QUIET, BOTH)
    assert decision == Outcome(
        7, S.PENDING, night_in_new_york, next_attempt_at=datetime(2026, 3, 3, 7, tzinfo=UTC)
    )
    evening_in_london = datetime(2026, 3, 2, 20, 30, tzinfo=UTC)  # 15:30 in New York
    assert isinstance(decide(WELCOME, evening_in_london, PROTOCOL, QUIET, BOTH), Ready)


def test_a_window_that_closes_during_quiet_hours_expires() -> None:
    night = new_york(2, 22)  # the welcome's window closes at 22:00 New York time too
    short = replace(WELCOME, expires_at=night + timedelta(hours=2))
    assert decide(short, night, PROTOCOL, QUIET, BOTH) == Outcome(
        7, S.EXPIRED, night, error="window closed during quiet hours"
    )


def test_without_quiet_hours_a_night_reminder_goes_at_once() -> None:
    night = new_york(2, 21, 30)
    assert isinstance(decide(WELCOME, night, PROTOCOL, None, BOTH), Ready)


# --- after a timed-out call ---------------------------------------------------------------------


def test_after_a_timeout_the_text_is_marked_unconfirmed_since_it_fell_due() -> None:
    timed_out = replace(WELCOME, error_code="timeout")
    assert message_for(timed_out).unconfirmed_since == T0
    assert message_for(replace(WELCOME, error_code="500")).unconfirmed_since is None
    assert message_for(WELCOME).unconfirmed_since is None


# --- after the send: sent ----------------------------------------------------------------------


def test_a_sent_message_keeps_the_providers_id_and_cost() -> None:
    result = SendResult.sent("SM1", encoding="GSM-7", segments=2)
    outcome, flag = after_send(ready(WELCOME), result, LATER, POLICY, QUIET, BOTH)
    assert flag is None
    assert outcome == Outcome(
        7, S.SENT, LATER, attempts=2, provider_message_id="SM1", encoding="GSM-7", segments=2
    )


# --- after the send: transient failures are retried with capped backoff -------------------------


def retried(attempts: int, result: SendResult, now: datetime = LATER) -> Outcome:
    reminder = replace(WELCOME, attempts=attempts, expires_at=T0 + timedelta(days=2))
    outcome, flag = after_send(ready(reminder), result, now, POLICY, QUIET, BOTH)
    assert flag is None
    return outcome


@pytest.mark.parametrize(
    ("earlier_attempts", "delay"),
    [
        (0, timedelta(seconds=30)),
        (1, timedelta(seconds=60)),
        (3, timedelta(minutes=4)),
        (5, timedelta(minutes=16)),
        (6, timedelta(minutes=30)),  # 32 min, capped
    ],
)
def test_a_transient_failure_is_retried_with_exponential_backoff_up_to_the_cap(
    earlier_attempts: int, delay: timedelta
) -> None:
    outcome = retried(earlier_attempts, SendResult.transient("HTTP 503", error_code="503"))
    assert outcome == Outcome(
        7,
        S.PENDING,
        LATER,
        attempts=earlier_attempts + 1,
        next_attempt_at=LATER + delay,
        error="HTTP 503",
        error_code="503",
    )


def test_the_provider_may_ask_for_a_longer_wait() -> None:
    outcome = retried(0, SendResult.transient("slow down", retry_after=90))
    assert outcome.next_attempt_at == LATER + timedelta(seconds=90)
    assert retried(3, SendResult.transient("slow down", retry_after=5)).next_attempt_at == (
        LATER + timedelta(minutes=4)  # the backoff is longer than asked
    )


def test_a_retry_that_would_fall_in_quiet_hours_waits_for_the_morning() -> None:
    evening = new_york(2, 20, 59)  # the second attempt's minute of backoff ends at 21:00
    outcome = retried(1, SendResult.transient("HTTP 503"), now=evening)
    assert outcome.status == S.PENDING and outcome.next_attempt_at == new_york(3, 8)


def test_the_last_attempt_gives_up() -> None:
    outcome = retried(7, SendResult.transient("HTTP 503", error_code="503"))
    assert outcome == Outcome(
        7,
        S.FAILED,
        LATER,
        attempts=8,
        error="gave up after 8 attempts: HTTP 503",
        error_code="503",
    )
    assert retried(6, SendResult.transient("HTTP 503")).status == S.PENDING


def test_a_retry_after_the_window_closes_expires_instead() -> None:
    closing = replace(WELCOME, expires_at=LATER + timedelta(seconds=20))
    outcome, flag = after_send(
        ready(closing),
        SendResult.transient("timed out", error_code="timeout"),
        LATER,
        POLICY,
        None,
        BOTH,
    )
    assert flag is None
    assert outcome == Outcome(
        7,
        S.EXPIRED,
        LATER,
        attempts=2,
        error="window closed while retrying: timed out",
        error_code="timeout",
    )


def test_a_transient_failure_without_a_reason_still_says_something() -> None:
    assert retried(0, SendResult(SendStatus.TRANSIENT)).error == "unknown error"


# --- after the send: permanent failures --------------------------------------------------------


def test_a_plain_permanent_failure_fails_this_reminder_only() -> None:
    result = SendResult.permanent("HTTP 400", error_code="21606")
    outcome, flag = after_send(ready(ON_BOTH), result, LATER, POLICY, QUIET, BOTH)
    assert flag is None
    assert outcome == Outcome(7, S.FAILED, LATER, attempts=2, error="HTTP 400", error_code="21606")


def test_an_sms_opt_out_is_remembered_and_the_reminder_moves_to_telegram() -> None:
    result = SendResult.permanent("recipient opted out", error_code="21610", opted_out=True)
    outcome, flag = after_send(ready(ON_BOTH), result, LATER, POLICY, QUIET, BOTH)
    assert flag == PatientFlag(5, "sms_opted_out")
    assert outcome == Outcome(
        7,
        S.PENDING,
        LATER,
        attempts=2,
        next_attempt_at=LATER,
        channel="telegram",
        error="recipient opted out",
        error_code="21610",
    )


def test_an_sms_opt_out_without_another_channel_fails_and_is_remembered() -> None:
    result = SendResult.permanent("recipient opted out", error_code="21610", opted_out=True)
    outcome, flag = after_send(ready(WELCOME), result, LATER, POLICY, QUIET, BOTH)
    assert flag == PatientFlag(5, "sms_opted_out")
    assert outcome.status == S.FAILED and outcome.channel is None


def test_a_blocked_bot_marks_telegram_unreachable_and_moves_to_sms() -> None:
    telegram = replace(ON_BOTH, channel="telegram")
    result = SendResult.permanent("bot blocked", error_code="403", unreachable=True)
    outcome, flag = after_send(ready(telegram), result, LATER, POLICY, QUIET, BOTH)
    assert flag == PatientFlag(5, "telegram_unreachable")
    assert outcome.status == S.PENDING and outcome.channel == "sms"
    assert outcome.next_attempt_at == LATER


def test_an_unreachable_number_falls_back_only_to_a_channel_this_engine_has() -> None:
    result = SendResult.permanent("not a mobile number", error_code="21614", unreachable=True)
    outcome, flag = after_send(ready(ON_BOTH), result, LATER, POLICY, QUIET, SMS_ONLY)
    assert flag == PatientFlag(5, "sms_unreachable")
    assert outcome == Outcome(
        7, S.FAILED, LATER, attempts=2, error="not a mobile number", error_code="21614"
    )
