"""Plain values shared by storage and the pure scheduling decisions: no SQLAlchemy here,
so `scheduler.decisions` can be loaded and tested without a database library."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal, get_args

# The languages and channels a patient can have, defined once: the Literal types let the
# command line offer them as choices, the tuples are for membership tests and listings.
Language = Literal["en", "es"]
ChannelName = Literal["sms", "telegram"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
CHANNELS: tuple[ChannelName, ...] = get_args(ChannelName)


class ReminderStatus(StrEnum):
    PENDING = "pending"  # waiting for next_attempt_at
    CLAIMED = "claimed"  # leased by an engine, not yet handed to a provider
    SENDING = "sending"  # handed to a provider; a crash here leaves it in doubt
    SENT = "sent"
    FAILED = "failed"  # permanent failure or retries exhausted
    EXPIRED = "expired"  # its window closed before it could be sent
    CANCELLED = "cancelled"  # treatment cancelled, patient erased or opted out
    SKIPPED = "skipped"  # no longer applies (paused, or the treatment time moved past it)
    IN_DOUBT = "in_doubt"  # an engine died while sending: not re-sent (see README)


OPEN_STATUSES = (ReminderStatus.PENDING, ReminderStatus.CLAIMED, ReminderStatus.SENDING)

# The milestone of a staff member's reply to a patient: a reminder row that carries its own
# text (`body`), sent at once, whatever the quiet hours (scheduler.decisions).
STAFF_REPLY = "staff_reply"


@dataclass(frozen=True)
class ClaimedReminder:
    """A claimed reminder with everything needed to decide, render and send it."""

    id: int
    milestone: str
    channel: str
    due_at: datetime
    expires_at: datetime
    attempts: int
    treatment_id: int
    performed_at: datetime
    registered_at: datetime
    protocol: str
    treatment_cancelled: bool
    patient_id: int
    first_name: str | None
    phone: str | None
    telegram_chat_id: int | None
    timezone: str
    language: str
    sms_opted_out: bool
    sms_unreachable: bool
    telegram_unreachable: bool
    paused: bool
    erased: bool
    clinic_name: str
    clinic_phone: str
    error_code: str | None = None  # of the last attempt ("timeout": it may have arrived)
    provider_message_id: str | None = None  # set early by a receipt for a timed-out send
    body: str | None = None  # a staff reply's own text (other reminders are rendered)


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed reminder; written back in one transaction per chunk."""

    reminder_id: int
    status: ReminderStatus
    at: datetime
    next_attempt_at: datetime | None = None
    channel: str | None = None  # set when the reminder moves to another channel
    attempts: int | None = None
    provider_message_id: str | None = None
    error: str | None = None
    error_code: str | None = None
    encoding: str | None = None
    segments: int | None = None
