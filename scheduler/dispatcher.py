"""The dispatch loop: claim due reminders per channel, decide, send, record.

Database calls run in worker threads so a slow disk never stalls the event loop that
Telegram, Twilio and the HTTP server share.

On a lane with a rate, each message is marked `sending` on its own, once its rate slot has
come and just before its provider call, and its outcome is recorded as soon as the provider
answers, so a crash leaves in doubt only the messages truly in flight (README: the in-doubt
policy). A lane without a rate starts a whole chunk's calls at once, marked together. A
lane with a rate is leased (storage.lanes): one engine at a time sends on it, so the
sender's rate holds however many engines share the database.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from messages.protocol import Protocol
from scheduler.clock import Clock
from scheduler.decisions import (
    PatientFlag,
    Ready,
    RetryPolicy,
    after_send,
    decide,
    needs_invite_link,
)
from scheduler.first_texts import FirstTexts
from scheduler.group_commit import GroupCommit
from scheduler.invites import InviteLinks
from scheduler.observe import DispatchObserver, NoObserver, Settled
from scheduler.ports import Channel, SendResult, SendStatus
from scheduler.quiet_hours import QuietHours
from scheduler.rate_limit import RateLimiter
from storage.models import ReminderStatus
from storage.patients import PatientRepository
from storage.reminders import ClaimedReminder, Outcome, ReminderRepository

log = logging.getLogger(__name__)

Recorded = tuple[Outcome, PatientFlag | None]


def engine_id() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class DispatchConfig:
    batch_size: int = 200
    lease: timedelta = timedelta(seconds=60)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    quiet: QuietHours | None = None
    emergency_number: str = "911"  # EMERGENCY_NUMBER, named by texts about an emergency


@dataclass
class ChannelLane:
    """One logical channel (sms, telegram): its implementation and its rate."""

    name: str
    channel: Channel
    limiter: RateLimiter

    @property
    def inflight(self) -> int:
        """Sends under way at once, each waiting for its own rate slot: the chunk size."""
        rate = self.limiter.rate
        return 100 if rate is None else max(1, min(100, int(rate)))

    @property
    def leased(self) -> bool:
        """A lane with a rate is one provider sender: one engine at a time sends on it."""
        return self.limiter.rate is not None


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
        observer: DispatchObserver | None = None,
        invite_links: InviteLinks | None = None,
    ) -> None:
        self.reminders = reminders
        self.patients = patients
        self.lanes = {lane.name: lane for lane in lanes}
        self.protocols = protocols
        self.default_protocol = default_protocol
        self.clock = clock
        self.config = config
        self.owner = owner or engine_id()
        self.observer: DispatchObserver = observer or NoObserver()
        self.invite_links = invite_links  # None: invite SMS are skipped (no bot username)
        self.available = frozenset(self.lanes)
        self._locks = {name: asyncio.Lock() for name in self.lanes}
        self._starting = {name: asyncio.Lock() for name in self.lanes}  # FIFO: slot order
        self._held: dict[str, datetime] = {}  # leased lanes this engine holds, and until when
        self._outcomes: GroupCommit[Recorded, None] = GroupCommit(self._record)
        self._stopping = False
        self._first_texts = FirstTexts(reminders.sms_numbers)

    @property
    def channel_names(self) -> list[str]:
        return list(self.lanes)

    def sending_lanes(self) -> list[str]:
        """The lanes this engine sends on now: unleased ones, and leased ones it holds."""
        return [name for name, lane in self.lanes.items() if self._may_send(lane)]

    def stop(self) -> None:
        """Finish the sends under way, start no new one, claim nothing more."""
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

    # -- lane leases ------------------------------------------------------------------------

    def _may_send(self, lane: ChannelLane) -> bool:
        if not lane.leased:
            return True
        until = self._held.get(lane.name)
        return until is not None and self.clock.now() < until

    async def _hold(self, lane: ChannelLane) -> bool:
        """Hold the lane (take it over if its lease lapsed); False while another engine has it."""
        now = self.clock.now()
        lease = self.config.lease
        until = self._held.get(lane.name)
        if until is not None and until - now > lease / 2:
            return True  # renewed recently, by the heartbeat or an earlier round
        grant = await asyncio.to_thread(
            self.reminders.lanes.acquire,
            lane.name,
            self.owner,
            now,
            now + lease,
            lane.limiter.next_free(),
        )
        if grant is None:
            self._held.pop(lane.name, None)
            return False
        if grant.taken_over:
            lane.limiter.not_before(grant.next_send_at)
            log.info("engine %s now sends on the %s lane", self.owner, lane.name)
        self._held[lane.name] = grant.until
        return True

    async def renew_lanes(self) -> None:
        """Heartbeat: extend the leases on the lanes this engine holds."""
        for name in list(self._held):
            lane = self.lanes[name]
            until = self.clock.now() + self.config.lease
            kept = await asyncio.to_thread(
                self.reminders.lanes.renew, name, self.owner, until, lane.limiter.next_free()
            )
            if kept:
                self._held[name] = until
            else:
                self._held.pop(name, None)
                log.warning("engine %s lost the %s lane to another engine", self.owner, name)

    async def release_lanes(self) -> None:
        """Clean stop: another engine may take the lanes over at once, keeping the rate."""
        for name in list(self._held):
            await asyncio.to_thread(
                self.reminders.lanes.release,
                name,
                self.owner,
                self.clock.now(),
                self.lanes[name].limiter.next_free(),
            )
            self._held.pop(name, None)

    # -- the loop ---------------------------------------------------------------------------

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
                if lane.leased and not await self._hold(lane):
                    break
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
                    if self._stopping or not self._may_send(lane):
                        rest = [r.id for r in batch[start:]]
                        await asyncio.to_thread(self.reminders.release, self.owner, rest)
                        break
                    sent += await self._process(lane, batch[start : start + lane.inflight])
        return sent

    def _prepare(
        self, chunk: Sequence[ClaimedReminder], now: datetime
    ) -> tuple[set[str], dict[int, str]]:
        """Blocking: the chunk's numbers that never had a text from us, and the links of its
        invite SMS (made now, as they are sent)."""
        sms = "sms" in self.available
        never_texted = self._first_texts.never_texted(chunk) if sms else set()
        links = {}
        if self.invite_links is not None:
            for r in chunk:
                if needs_invite_link(r):
                    links[r.id] = self.invite_links.for_reminder(r.id, r.patient_id, now)
        return never_texted, links

    async def _process(self, lane: ChannelLane, chunk: Sequence[ClaimedReminder]) -> int:
        now = self.clock.now()
        decided: list[Outcome] = []
        ready: list[Ready] = []
        never_texted, links = await asyncio.to_thread(self._prepare, chunk, now)
        for reminder in chunk:
            protocol = self.protocols.get(reminder.protocol, self.default_protocol)
            decision = decide(
                reminder,
                now,
                protocol,
                self.config.quiet,
                self.available,
                first_sms=reminder.phone in never_texted,
                invite_link=links.get(reminder.id),
                emergency_number=self.config.emergency_number,
            )
            if isinstance(decision, Ready):
                ready.append(decision)
                if decision.first_sms:
                    # One text per number in a chunk carries the line (two patients at one
                    # number, or the invite and the welcome due together).
                    never_texted.discard(decision.message.address)
                    self._first_texts.carries(reminder.id, decision.message.address)
            else:
                decided.append(decision)
                self._observe(Settled(lane.name, reminder.milestone, decision.status, False))
        if lane.leased:
            sent = await self._deliver_paced(lane, ready, decided)
        else:
            sent = await self._deliver_together(lane, ready, decided)
        already = sum(1 for outcome in decided if outcome.status == ReminderStatus.SENT)
        return already + sent

    async def _deliver_paced(
        self, lane: ChannelLane, ready: Sequence[Ready], decided: Sequence[Outcome]
    ) -> int:
        """A lane with a rate: each text goes in its own slot, is marked `sending` alone just
        before its call, and has its outcome written as soon as the provider answers."""
        recorded = [self._outcomes.submit((outcome, None)) for outcome in decided]
        delivered = await asyncio.gather(*(self._deliver(lane, r) for r in ready), *recorded)
        unsent = [r.reminder.id for r, d in zip(ready, delivered, strict=False) if d is None]
        if unsent:
            # Never handed to the provider: back to the queue now, not when the lease lapses.
            self._first_texts.forget(unsent)
            await asyncio.to_thread(self.reminders.release, self.owner, unsent)
        return sum(1 for d in delivered if d is True)

    async def _deliver(self, lane: ChannelLane, item: Ready) -> bool | None:
        """Send one reminder in its rate slot: True if sent, False if it failed or its
        outcome could not be recorded, None if it never reached the provider."""
        reminder_id = item.reminder.id
        # One start at a time (slot, mark, call), in claim order; the calls then overlap.
        async with self._starting[lane.name]:
            if self._stopping:
                return None  # without waiting for a slot it would not use
            await lane.limiter.acquire()
            if self._stopping or not self._may_send(lane):
                return None
            try:
                # `sending` for this message alone, now that its turn has come: a crash from
                # here leaves it in doubt, and only it.
                marked = await asyncio.to_thread(self._mark, [reminder_id])
            except Exception:
                log.exception("could not mark reminder %s as sending; not sent", reminder_id)
                return None
            if reminder_id not in marked:
                log.warning("reminder %s is no longer this engine's claim; not sent", reminder_id)
                return None
            lane.limiter.started()
        outcome = self._settle(lane, item, await self._send(lane, item))
        try:
            await self._outcomes.submit(outcome)
        except Exception:
            log.exception("could not record reminder %s; it will be in doubt", reminder_id)
            return False
        return outcome[0].status == ReminderStatus.SENT

    async def _deliver_together(
        self, lane: ChannelLane, ready: Sequence[Ready], decided: Sequence[Outcome]
    ) -> int:
        """A lane without a rate starts the whole chunk's calls at once: one `sending` mark
        just before them, and one write of all their outcomes."""
        marked = (
            await asyncio.to_thread(self._mark, [r.reminder.id for r in ready]) if ready else set()
        )
        going = [r for r in ready if r.reminder.id in marked]
        self._first_texts.forget(r.reminder.id for r in ready if r.reminder.id not in marked)
        results = await asyncio.gather(*(self._send(lane, r) for r in going))
        items: list[Recorded] = [(outcome, None) for outcome in decided]
        sent = [self._settle(lane, r, result) for r, result in zip(going, results, strict=True)]
        if items or sent:
            await asyncio.to_thread(self._record, items + sent)
        return sum(1 for outcome, _ in sent if outcome.status == ReminderStatus.SENT)

    def _settle(self, lane: ChannelLane, item: Ready, result: SendResult) -> Recorded:
        outcome, flag = after_send(
            item, result, self.clock.now(), self.config.retry, self.config.quiet, self.available
        )
        if result.retry_after:
            lane.limiter.pause(result.retry_after)
        sent = outcome.status == ReminderStatus.SENT
        self._observe(
            Settled(
                lane.name,
                item.reminder.milestone,
                outcome.status,
                True,
                lateness=outcome.at - item.reminder.due_at if sent else None,
                error_code=None if sent else (result.error_code or outcome.error_code),
                transient_error=result.status == SendStatus.TRANSIENT,
            )
        )
        log.info(
            "reminder %s %s on %s: %s",
            item.reminder.id,
            item.reminder.milestone,
            lane.name,
            outcome.status.value,
        )
        return outcome, flag

    def _observe(self, event: Settled) -> None:
        try:
            self.observer.settled(event)
        except Exception:  # watching must never stop a send
            log.exception("the dispatch observer raised")

    def _mark(self, ids: Sequence[int]) -> set[int]:
        return self.reminders.mark_sending(ids, self.owner)

    def _record(self, items: Sequence[Recorded]) -> None:
        for _, flag in items:
            if flag is not None:
                self.patients.set_flag(flag.patient_id, flag.field)
        outcomes = [outcome for outcome, _ in items]
        self.reminders.record(outcomes, self.owner)
        if outcomes:
            self._first_texts.settled(outcomes, outcomes[0].at)

    async def _send(self, lane: ChannelLane, ready: Ready) -> SendResult:
        try:
            return await lane.channel.send(ready.message)
        except Exception as exc:  # a channel bug must not stop the other reminders
            log.exception("channel %s raised for reminder %s", lane.name, ready.reminder.id)
            return SendResult.transient(f"channel error: {type(exc).__name__}")
