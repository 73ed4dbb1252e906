"""The scheduler's port to the outside: the one interface every outbound channel implements.

The dispatch engine owns this contract; the channels in `bot/` implement it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class SendStatus(StrEnum):
    SENT = "sent"
    TRANSIENT = "transient"  # try again later, inside the reminder's window
    PERMANENT = "permanent"  # never retry this message on this channel


@dataclass(frozen=True)
class OutboundMessage:
    channel: str  # "sms" or "telegram": which rendering the text is
    address: str  # E.164 phone or Telegram chat id, as text
    text: str
    patient_id: int | None = None
    reminder_id: int | None = None
    valid_until: datetime | None = None  # providers may drop it after this
    # An earlier attempt timed out after this instant and may have reached the provider:
    # a channel that can look its messages up checks before sending again.
    unconfirmed_since: datetime | None = None


@dataclass(frozen=True)
class SendResult:
    status: SendStatus
    provider_message_id: str | None = None
    error: str | None = None  # safe to store and log: no personal data
    error_code: str | None = None
    retry_after: float | None = None  # seconds the provider asked us to wait
    opted_out: bool = False  # the recipient opted out of this channel
    unreachable: bool = False  # this channel can no longer reach the recipient
    encoding: str | None = None
    segments: int | None = None

    @classmethod
    def sent(cls, provider_message_id: str | None = None, **extra: object) -> SendResult:
        return cls(SendStatus.SENT, provider_message_id=provider_message_id, **extra)  # type: ignore[arg-type]

    @classmethod
    def transient(cls, error: str, **extra: object) -> SendResult:
        return cls(SendStatus.TRANSIENT, error=error, **extra)  # type: ignore[arg-type]

    @classmethod
    def permanent(cls, error: str, **extra: object) -> SendResult:
        return cls(SendStatus.PERMANENT, error=error, **extra)  # type: ignore[arg-type]


class Channel(Protocol):
    """Sends one message; never raises for provider errors, it classifies them instead."""

    name: str

    async def send(self, message: OutboundMessage) -> SendResult: ...
