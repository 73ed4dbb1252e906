"""An in-memory channel for tests and benchmarks; its answers can be scripted."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from scheduler.ports import OutboundMessage, SendResult


@dataclass(frozen=True)
class Delivery:
    message: OutboundMessage
    at: datetime | None


class MemoryChannel:
    def __init__(self, name: str = "memory", now: Callable[[], datetime] | None = None) -> None:
        self.name = name
        self.sent: list[Delivery] = []
        self.attempts: list[Delivery] = []
        self._now = now
        self._script: deque[SendResult] = deque()
        self._counter = 0

    def script(self, *results: SendResult) -> None:
        """The next sends answer these, in order; afterwards every send succeeds."""
        self._script.extend(results)

    async def send(self, message: OutboundMessage) -> SendResult:
        delivery = Delivery(message, self._now() if self._now else None)
        self.attempts.append(delivery)
        if self._script:
            result = self._script.popleft()
            if result.status == "sent":
                self.sent.append(delivery)
            return result
        self._counter += 1
        self.sent.append(delivery)
        return SendResult.sent(f"mem-{self._counter}")
