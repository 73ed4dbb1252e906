"""The inbound contract: what a channel hands the conversation core, and what it gets back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class InboundReply:
    """The answer to a patient's message, already rendered for the channel it came from."""

    text: str
    topic: str
    escalated: bool
    language: str


@dataclass(frozen=True)
class InboundSource:
    """The provider's id for an inbound message, for providers that redeliver."""

    provider: str
    message_id: str


class AlreadyProcessed(Exception):
    """The message with this `InboundSource` was processed before: nothing was done again."""


class InboundHandler(Protocol):
    """The channel-agnostic conversation core, as the channels see it."""

    async def handle(
        self,
        *,
        channel: str,
        text: str,
        patient_id: int | None,
        language: str | None = None,
        source: InboundSource | None = None,
    ) -> InboundReply:
        """Answer and record one message. With a `source`, its id is recorded in the same
        transaction as the conversation, so a redelivery after a crash is either processed
        (nothing was stored) or refused with `AlreadyProcessed` (everything was)."""
        ...
