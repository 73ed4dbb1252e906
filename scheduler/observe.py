"""What the dispatch engine tells an observer (metrics, readiness) about its work.

The engine knows nothing of how it is watched: the composition root passes an object with
these methods (aftercare implements it with Prometheus). Calls are made on the event loop,
after each outcome is known, and must return quickly without I/O; an observer that raises
is logged and never stops a send.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from storage.values import ReminderStatus

ChannelMilestone = tuple[str, str]


@dataclass(frozen=True)
class Settled:
    """What became of one claimed reminder on one lane."""

    channel: str  # the lane it was claimed on
    milestone: str
    status: ReminderStatus  # pending: a retry is planned
    attempted: bool  # handed to the provider (False: decided without a send)
    lateness: timedelta | None = None  # sent: how long after its due time
    error_code: str | None = None  # the provider's code when the attempt failed
    # The provider call failed in a way that may pass (an outage, bad credentials, a rate
    # limit), as opposed to a refusal about this one recipient.
    transient_error: bool = False


@dataclass(frozen=True)
class Swept:
    """What one sweep found: reminders whose window closed unsent, and claims whose engine
    died during the provider call, by (channel, milestone)."""

    expired: Mapping[ChannelMilestone, int]
    in_doubt: Mapping[ChannelMilestone, int]


class DispatchObserver(Protocol):
    def settled(self, event: Settled) -> None: ...

    def swept(self, event: Swept) -> None: ...


class NoObserver:
    """The default: nobody is watching."""

    def settled(self, event: Settled) -> None:
        return None

    def swept(self, event: Swept) -> None:
        return None
