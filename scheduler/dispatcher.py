"""The dispatch loop: claim due reminders per channel, decide, send, record.

Database calls run in worker threads so a slow disk never stalls the event loop that
Telegram, Twilio and the HTTP server share.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from bot.channel import Channel, SendResult
from messages.protocol import Protocol
from scheduler.clock import Clock
from scheduler.decisions import PatientFlag, Ready, RetryPolicy, after_send, decide
from scheduler.quiet_hours import QuietHours
from scheduler.rate_limit import RateLimiter
from storage.patients import PatientRepository
from storage.reminders import ClaimedReminder, Outcome, ReminderRepository

log = logging.getLogger(__name__)


def engine_id() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class DispatchConfig:
    batch_size: int = 200
    lease: timedelta = timedelta(seconds=60)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    quiet: QuietHours | None = None


@dataclass
class ChannelLane:
    """One logical channel (sms, telegram): its implementation and its rate."""

    name: str
    channel: Channel
    limiter: RateLimiter

    @property
    def inflight(self) -> int:
        """Messages handed to the provider at once; also the most a crash can leave in doubt."""
        rate = self.limiter.rate
        return 100 if rate is None else max(1, min(100, int(rate)))


class Dispatcher:
    def __init__(
        self,
        reminders: ReminderRepository,
        patients: PatientRepository,
        lanes: Sequence[ChannelLane],
        protocols: Mapping[str, Protocol],
        default_protocol: Protocol,
        clock: Clock,
        config: DispatchConfig,
        owner: str | None = None,
    ) -> None:
        self.reminders = reminders
        self.patients = patients
        self.lanes = {lane.name: lane for lane in lanes}
        self.protocols = protocols
        self.default_protocol = default_protocol
        self.clock = clock
        self.config = config
        self.owner = owner or engine_id()
        self.available = frozenset(self.lanes)
        self._locks = {name: asyncio.Lock() for name in self.lanes}
        self._stopping = False

    @property
    def channel_names(self) -> list[str]:
        return list(self.lanes)

    def stop(self) -> None:
        """Finish the chunk in flight, claim nothing more."""
        self._stopping = True

    async def idle(self) -> None:
        """Wait until no lane is working."""
        for lock in self._locks.values():
            async with lock:
                pass

    async def dispatch_due(self) -> int:
        """Send everything due now on every lane; returns how many were sent."""
        counts = await asyncio.gather(*(self._drain(name) for name in self.lanes))
        return sum(counts)

    def _claim_limit(self, lane: ChannelLane) -> int:
        rate = lane.limiter.rate
        if rate is None:
            return self.config.batch_size
        # Never hold more than half a lease's worth of sends at this lane's rate.
        fits = int(rate * self.config.lease.total_seconds() / 2)
        return max(1, min(self.config.batch_size, max(fits, lane.inflight)))

    async def _drain(self, name: str) -> int:
        lane = self.lanes[name]
        sent = 0
        async with self._locks[name]:
            while not self._stopping:
                now = self.clock.now()
                batch = await asyncio.to_thread(
                    self.reminders.claim_due,
                    name,
                    now,
                    self._claim_limit(lane),
                    self.owner,
                    now + self.config.lease,
                )
                if not batch:
                    break
                for start in range(0, len(batch), lane.inflight):
                    if self._stopping:
                        rest = [r.id for r in batch[start:]]
                        await asyncio.to_thread(self.reminders.release, self.owner, rest)
                        break
                    sent += await self._process(lane, batch[start : start + lane.inflight])
        return sent

    async def _process(self, lane: ChannelLane, chunk: Sequence[ClaimedReminder]) -> int:
        now = self.clock.now()
        outcomes: list[Outcome] = []
        flags: list[PatientFlag] = []
        ready: list[Ready] = []
        for reminder in chunk:
            protocol = self.protocols.get(reminder.protocol, self.default_protocol)
            decision = decide(reminder, now, protocol, self.config.quiet, self.available)
            if isinstance(decision, Ready):
                ready.append(decision)
            else:
                outcomes.append(decision)
        if ready:
            await asyncio.to_thread(
                self.reminders.mark_sending, [r.reminder.id for r in ready], self.owner
            )
            results = await asyncio.gather(*(self._send(lane, r) for r in ready))
            for item, result in zip(ready, results, strict=True):
                outcome, flag = after_send(
                    item,
                    result,
                    self.clock.now(),
                    self.config.retry,
                    self.config.quiet,
                    self.available,
                )
                outcomes.append(outcome)
                if flag is not None:
                    flags.append(flag)
                if result.retry_after:
                    lane.limiter.pause(result.retry_after)
                log.info(
                    "reminder %s %s on %s: %s",
                    item.reminder.id,
                    item.reminder.milestone,
                    lane.name,
                    outcome.status.value,
                )
        await asyncio.to_thread(self._record, outcomes, flags)
        return sum(1 for o in outcomes if o.status == "sent")

    def _record(self, outcomes: Sequence[Outcome], flags: Sequence[PatientFlag]) -> None:
        for flag in flags:
            self.patients.set_flag(flag.patient_id, flag.field)
        self.reminders.record(outcomes, self.owner)

    async def _send(self, lane: ChannelLane, ready: Ready) -> SendResult:
        await lane.limiter.acquire()
        try:
            return await lane.channel.send(ready.message)
        except Exception as exc:  # a channel bug must not stop the other reminders
            log.exception("channel %s raised for reminder %s", lane.name, ready.reminder.id)
            return SendResult.transient(f"channel error: {type(exc).__name__}")
