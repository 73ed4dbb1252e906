"""What to do with a claimed reminder, before and after the send. Pure functions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from messages.first_sms import invite_sms, with_opt_out_line
from messages.milestones import passed_milestones, welcome_timeline
from messages.protocol import INVITE, Protocol
from messages.protocol import Channel as RenderChannel
from messages.render import RenderContext, render_text
from messages.staff_replies import problem as staff_reply_problem
from messages.staff_replies import rendered as staff_reply_text
from scheduler.ports import OutboundMessage, SendResult, SendStatus
from scheduler.quiet_hours import QuietHours
from scheduler.timeline import retry_at
from storage.values import STAFF_REPLY, ClaimedReminder, Outcome
from storage.values import ReminderStatus as S

OTHER_CHANNEL = {"sms": "telegram", "telegram": "sms"}
# The error code channels give a call that timed out: the provider may have accepted it.
TIMED_OUT = "timeout"


@dataclass(frozen=True)
class RetryPolicy:
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(minutes=30)
    max_attempts: int = 8


@dataclass(frozen=True)
class Ready:
    """Cleared to send, with the rendered message."""

    reminder: ClaimedReminder
    message: OutboundMessage
    first_sms: bool = False  # the first text to this number: it carries the opt-out line


@dataclass(frozen=True)
class PatientFlag:
    """A fact a provider told us about the patient, stored with the outcome."""

    patient_id: int
    field: str  # sms_opted_out | sms_unreachable | telegram_unreachable


def address_for(reminder: ClaimedReminder, channel: str) -> str | None:
    """Where this channel can reach the patient, or None if it cannot."""
    if channel == "sms":
        if reminder.phone and not reminder.sms_opted_out and not reminder.sms_unreachable:
            return reminder.phone
        return None
    if channel == "telegram":
        if reminder.telegram_chat_id is not None and not reminder.telegram_unreachable:
            return str(reminder.telegram_chat_id)
        return None
    raise ValueError(f"unknown channel {channel!r}")


def needs_invite_link(reminder: ClaimedReminder) -> bool:
    """Whether an invite SMS may go out, so its link is worth making now."""
    return (
        reminder.milestone == INVITE
        and reminder.telegram_chat_id is None
        and not reminder.erased
        and address_for(reminder, "sms") is not None
    )


def decide(
    reminder: ClaimedReminder,
    now: datetime,
    protocol: Protocol,
    quiet: QuietHours | None,
    available: frozenset[str],
    *,
    first_sms: bool = False,
    invite_link: str | None = None,
    emergency_number: str = "911",
) -> Ready | Outcome:
    """Send it now, or record why not (cancelled, expired, skipped, moved, deferred).

    A staff reply answers the patient's own message: it goes out at once, quiet hours or
    not, also to a patient who paused reminders or whose treatment was cancelled; erasure,
    opt-out and its expiry still stop it.

    `first_sms`: the patient's number has never had a text from us, so an SMS reminder
    carries the opt-out line. An invite SMS (a Telegram-enrolled patient with a phone) goes
    by SMS only, with `invite_link`, and not at all once the patient is on Telegram.
    `emergency_number` is the deployment's EMERGENCY_NUMBER, which texts speaking of an
    emergency name."""
    staff_reply = reminder.milestone == STAFF_REPLY

    def outcome(status: S, error: str | None = None, **extra: object) -> Outcome:
        return Outcome(reminder.id, status, now, error=error, **extra)  # type: ignore[arg-type]

    if reminder.provider_message_id is not None:
        # A delivery receipt for an attempt that timed out came back with the provider's
        # id (the receipt URL names the reminder): it was sent, and is not sent again.
        return outcome(S.SENT, provider_message_id=reminder.provider_message_id)
    if reminder.erased:
        return outcome(S.CANCELLED, "patient erased")
    if reminder.treatment_cancelled and not staff_reply:
        return outcome(S.CANCELLED, "treatment cancelled")
    if now >= reminder.expires_at:
        return outcome(S.EXPIRED, "window closed before it could be sent")
    if reminder.paused and not staff_reply:
        return outcome(S.SKIPPED, "reminders paused by the patient")
    if reminder.milestone == INVITE:
        not_sent = _invite_refused(reminder, invite_link)
        if not_sent is not None:
            return outcome(*not_sent)

    address = address_for(reminder, reminder.channel)
    if address is None:
        other = OTHER_CHANNEL[reminder.channel]
        if other in available and address_for(reminder, other) is not None:
            return outcome(S.PENDING, next_attempt_at=now, channel=other)
        if reminder.channel == "sms" and reminder.sms_opted_out:
            return outcome(S.CANCELLED, "patient opted out of SMS")
        return outcome(S.FAILED, f"no way to reach the patient on {reminder.channel}")

    zone = ZoneInfo(reminder.timezone)
    if quiet is not None and not staff_reply:
        allowed = quiet.defer(now, zone)
        if allowed > now:
            if allowed >= reminder.expires_at:
                return outcome(S.EXPIRED, "window closed during quiet hours")
            return outcome(S.PENDING, next_attempt_at=allowed)

    rendering: RenderChannel = "sms" if reminder.channel == "sms" else "telegram"
    if staff_reply:
        body = reminder.body or ""
        # Checked when written, for the channel of the time; the patient may since have
        # moved to SMS, which carries less.
        refused = staff_reply_problem(body, reminder.channel)
        if refused is not None:
            why = refused.sentence
            return outcome(S.FAILED, f"staff reply cannot go by {reminder.channel}: {why}")
        text = staff_reply_text(body, rendering)
    elif reminder.milestone == INVITE:
        assert invite_link is not None
        text = invite_sms(reminder.first_name, reminder.clinic_name, invite_link, reminder.language)
    else:
        text = _render(reminder, now, protocol, zone, rendering, emergency_number)
    # A staff reply answers the patient's own text: it is never the first one they get.
    first_sms = first_sms and rendering == "sms" and not staff_reply
    if first_sms:
        text = with_opt_out_line(text, reminder.language)
    message = OutboundMessage(
        channel=reminder.channel,
        address=address,
        text=text,
        patient_id=reminder.patient_id,
        reminder_id=reminder.id,
        valid_until=reminder.expires_at,
        # Every attempt came after the due time: a copy the provider has is newer than that.
        unconfirmed_since=reminder.due_at if reminder.error_code == TIMED_OUT else None,
    )
    return Ready(reminder, message, first_sms)


def _invite_refused(reminder: ClaimedReminder, link: str | None) -> tuple[S, str] | None:
    """Why an invite SMS is not sent, or None. It never moves to Telegram: it is the way
    there."""
    if reminder.telegram_chat_id is not None:
        return S.SKIPPED, "patient already on Telegram"
    if reminder.channel != "sms" or address_for(reminder, "sms") is None:
        if reminder.sms_opted_out:
            return S.CANCELLED, "patient opted out of SMS"
        return S.FAILED, "an invite goes by SMS only, and this number cannot take it"
    if link is None:
        return S.SKIPPED, "no invite links on this engine (no bot username)"
    return None


def _render(
    reminder: ClaimedReminder,
    now: datetime,
    protocol: Protocol,
    zone: ZoneInfo,
    rendering: RenderChannel,
    emergency_number: str,
) -> str:
    context = RenderContext(
        reminder.first_name,
        reminder.clinic_name,
        reminder.clinic_phone,
        reminder.language,
        emergency_number=emergency_number,
    )
    if any(m.key == reminder.milestone for m in protocol.before):
        # "Your appointment is tomorrow at 9:30 am", as of the moment it is sent.
        context = context.with_appointment(reminder.performed_at, zone, now)
    passed = passed_milestones(reminder.performed_at, protocol, zone, reminder.registered_at)
    # A late welcome says until when each thing is still off, in the patient's zone, as of
    # the moment it is sent (a welcome held back by quiet hours is written at send time).
    timeline = welcome_timeline(reminder.performed_at, protocol, zone, now) if passed else None
    return render_text(
        protocol, reminder.milestone, rendering, context, passed=passed, timeline=timeline
    )


def after_send(
    ready: Ready,
    result: SendResult,
    now: datetime,
    policy: RetryPolicy,
    quiet: QuietHours | None,
    available: frozenset[str],
) -> tuple[Outcome, PatientFlag | None]:
    """The outcome of one send, and what it taught us about the patient."""
    reminder = ready.reminder
    if reminder.milestone == STAFF_REPLY:
        quiet = None  # a staff reply's retries follow the backoff, by night too
    attempts = reminder.attempts + 1
    if result.status == SendStatus.SENT:
        return (
            Outcome(
                reminder.id,
                S.SENT,
                now,
                attempts=attempts,
                provider_message_id=result.provider_message_id,
                encoding=result.encoding,
                segments=result.segments,
            ),
            None,
        )
    error, code = result.error or "unknown error", result.error_code
    if result.status == SendStatus.TRANSIENT:
        if attempts >= policy.max_attempts:
            return Outcome(
                reminder.id,
                S.FAILED,
                now,
                attempts=attempts,
                error=f"gave up after {attempts} attempts: {error}",
                error_code=code,
            ), None
        zone = ZoneInfo(reminder.timezone)
        next_at = retry_at(now, attempts, policy.base, policy.cap, zone, quiet)
        if result.retry_after is not None:
            next_at = max(next_at, now + timedelta(seconds=result.retry_after))
        if next_at >= reminder.expires_at:
            return Outcome(
                reminder.id,
                S.EXPIRED,
                now,
                attempts=attempts,
                error=f"window closed while retrying: {error}",
                error_code=code,
            ), None
        return Outcome(
            reminder.id,
            S.PENDING,
            now,
            attempts=attempts,
            next_attempt_at=next_at,
            error=error,
            error_code=code,
        ), None

    # Permanent: never retried on this channel; another channel may still reach the patient.
    flag = None
    if result.opted_out and reminder.channel == "sms":
        flag = PatientFlag(reminder.patient_id, "sms_opted_out")
    elif result.unreachable:
        flag = PatientFlag(reminder.patient_id, f"{reminder.channel}_unreachable")
    if flag is not None:
        other = OTHER_CHANNEL[reminder.channel]
        if other in available and address_for(reminder, other) is not None:
            return Outcome(
                reminder.id,
                S.PENDING,
                now,
                attempts=attempts,
                next_attempt_at=now,
                channel=other,
                error=error,
                error_code=code,
            ), flag
    return Outcome(
        reminder.id, S.FAILED, now, attempts=attempts, error=error, error_code=code
    ), flag
